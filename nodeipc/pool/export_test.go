package pool

// Owed returns, for each slot of p with a worker, the bytes the pool
// counts as possibly waiting in that worker's send queue (worker.owed).
func Owed(p *Pool) map[int]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	owed := map[int]int{}
	for _, w := range p.slots {
		if w != nil {
			owed[w.slot] = w.owed
		}
	}
	return owed
}

package nodeipc

import (
	"math/bits"
	"sync"
	"sync/atomic"
)

// chunk is the memory that the messages framed from one read share: the
// reader copies them out of its read buffer into one chunk. When the caller
// releases every message of a chunk (Message.Release), the chunk is
// recycled for a later read; a chunk with a message not released is left
// to the garbage collector, as every chunk is when nobody calls Release.
type chunk struct {
	buf  []byte
	refs atomic.Int32 // messages not released yet
	seen *atomic.Bool // set on the first release: the reader then sizes chunks for recycling
	// shared marks a reader's stand-in chunk, which every message gets
	// until the first release: releasing one only sets seen.
	shared bool
	// spare, for a reader's buffer handed over whole to large messages, is
	// where the buffer goes once they are all released.
	spare *atomic.Pointer[chunk]
}

// Chunk size classes: powers of two from 1<<minChunkShift to
// 1<<maxChunkShift bytes. Larger chunks are read buffers handed over whole
// (see handOver), which go back to their reader. Smaller ones are not
// recycled: for a few small messages, a pool's Get and Put and a reference
// count per message cost more than the allocation they save (seen in a CPU
// profile of the Go<->Go pipeline: about 4% of the time).
const (
	minChunkShift = 12 // 4 KiB
	maxChunkShift = 18 // 256 KiB
)

// chunkPools holds released chunks by size class: chunks in pool k have a
// buffer of exactly 1<<(minChunkShift+k) bytes.
var chunkPools [maxChunkShift - minChunkShift + 1]sync.Pool

// chunkClass returns the size class for n bytes, and false if n is over
// the largest class.
func chunkClass(n int) (int, bool) {
	if n <= 1<<minChunkShift {
		return 0, true
	}
	shift := bits.Len(uint(n - 1)) // 1<<shift >= n
	if shift > maxChunkShift {
		return 0, false
	}
	return shift - minChunkShift, true
}

// newChunk returns a chunk of at least n bytes (its buf is n long) for
// refs messages, from the pool of its size class or sized to return to
// it. A reader uses it once its caller has released a message; before,
// messages get memory of their own and the reader's shared chunk.
func newChunk(n int, refs int, seen *atomic.Bool) *chunk {
	var ck *chunk
	if class, ok := chunkClass(n); ok {
		if p, _ := chunkPools[class].Get().(*chunk); p != nil {
			ck = p
		} else {
			ck = &chunk{buf: make([]byte, 1<<(minChunkShift+class))}
		}
		ck.buf = ck.buf[:n]
	} else {
		ck = &chunk{buf: make([]byte, n)}
	}
	ck.refs.Store(int32(refs))
	ck.seen = seen
	return ck
}

// release drops one message's reference, and recycles the chunk when it
// was the last one.
func (ck *chunk) release() {
	if !ck.seen.Load() {
		ck.seen.Store(true)
	}
	if ck.shared || ck.refs.Add(-1) != 0 {
		return
	}
	if ck.spare != nil {
		ck.spare.Store(ck)
		return
	}
	size := cap(ck.buf)
	class, ok := chunkClass(size)
	if !ok || 1<<(minChunkShift+class) != size {
		return // not a class size: never recycled
	}
	ck.buf = ck.buf[:size]
	chunkPools[class].Put(ck)
}

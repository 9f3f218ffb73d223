'use strict';
// Shared by the Node halves of the benchmark suite (interop/bench).

// The message shapes, the same bytes as the Go peer's (package shape): the
// driver hands the medium object over in NODEIPC_BENCH_MEDIUM.
function shapes() {
  const medium = JSON.parse(process.env.NODEIPC_BENCH_MEDIUM || 'null');
  if (medium === null) throw new Error('NODEIPC_BENCH_MEDIUM is not set (run the suite with go run ./interop/bench)');
  return {
    ping: { id: 1, op: 'echo', payload: 'x' },
    small: { id: 1, op: 'echo', payload: 'x'.repeat(20) },
    medium,
    large: { id: 1, op: 'echo', payload: 'x'.repeat(1 << 20) },
  };
}

// sendMany sends n copies of msg to target (a ChildProcess, or process in a
// child) the way a backpressure-aware Node program does: in chunks of about
// 256 KiB, each ending with a message whose write callback releases the next
// chunk, with at most two chunks in flight. It resolves when the last
// message has been written.
function sendMany(target, msg, n) {
  const size = JSON.stringify(msg).length + 1;
  const chunk = Math.max(1, Math.floor((256 << 10) / size));
  return new Promise((resolve, reject) => {
    let sent = 0;
    let inflight = 0;
    const written = (err) => {
      if (err) {
        reject(err);
        return;
      }
      inflight--;
      if (sent === n && inflight === 0) resolve();
      else pump();
    };
    const pump = () => {
      while (inflight < 2 && sent < n) {
        const k = Math.min(chunk, n - sent);
        for (let i = 1; i < k; i++) target.send(msg);
        target.send(msg, written);
        inflight++;
        sent += k;
      }
    };
    if (n === 0) resolve();
    else pump();
  });
}

module.exports = { shapes, sendMany };

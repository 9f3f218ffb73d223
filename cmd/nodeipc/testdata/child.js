// child.js is the Node child of the `nodeipc run` tests.
//
// At start it prints a line on its stdout and on its stderr (both must reach
// nodeipc's stderr), then sends {ready, argv, execArgv}. Messages:
//   {op: 'echo', value}   -> sends {echo: value}
//   {op: 'keys', value}   -> sends {keys, inner, deep}: Object.keys of value,
//                            of value.a and of value.a.y[0], then {echo: value}
//   {op: 'exit', code}    -> exits with code
//   {op: 'kill', signal}  -> kills itself with signal
//   anything else         -> sends {got: message}
// Flags (argv): --trap-term: on SIGTERM send {signal: 'SIGTERM'}, then exit
// 42; --ignore-term: on SIGTERM send {signal: 'SIGTERM'} and keep running.
'use strict';

const args = process.argv.slice(2);
console.log('child stdout: hello');
console.error('child stderr: hello');

if (args.includes('--trap-term')) {
  process.on('SIGTERM', () => process.send({signal: 'SIGTERM'}, () => process.exit(42)));
}
if (args.includes('--ignore-term')) {
  process.on('SIGTERM', () => process.send({signal: 'SIGTERM'}));
}

process.on('message', (m) => {
  switch (m && m.op) {
    case 'echo':
      process.send({echo: m.value});
      break;
    case 'keys':
      process.send({keys: Object.keys(m.value), inner: Object.keys(m.value.a), deep: Object.keys(m.value.a.y[0])});
      process.send({echo: m.value});
      break;
    case 'exit':
      process.exit(m.code);
      break;
    case 'kill':
      process.kill(process.pid, m.signal);
      break;
    default:
      process.send({got: m});
  }
});
process.on('disconnect', () => console.error('child: disconnect'));

process.send({ready: true, argv: args, execArgv: process.execArgv});

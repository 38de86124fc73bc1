// A leak in pollStatus(): each socket connects to a server that hangs up at once, and
// is kept half-open, so it sits in CLOSE_WAIT (tests/integration/node_leak.c).
'use strict';
const net = require('net');
const kept = [];

function pollStatus(port) {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  kept.push(s);
}

const srv = net.createServer((c) => c.end());
srv.listen(0, '127.0.0.1', () => {
  for (let i = 0; i < 3; i++) pollStatus(srv.address().port);
  setTimeout(() => process.exit(0), 800);
});

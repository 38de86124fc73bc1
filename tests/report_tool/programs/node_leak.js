// node_leak.js (close_wait_after=0): a Node leak for the report tool's tests, run by
// shim_reports.py under the shim. pollStatus() connects three sockets to a server that
// hangs up at once and keeps them half-open (allowHalfOpen), so each reads end-of-file
// and sits in CLOSE_WAIT.
'use strict';
const net = require('net');
const kept = [];

function pollStatus(port) {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  s.on('data', () => {});
  kept.push(s);
}

const srv = net.createServer((c) => c.end());
srv.listen(0, '127.0.0.1', () => {
  for (let i = 0; i < 3; i++) pollStatus(srv.address().port);
  setTimeout(() => process.exit(0), 300);
});

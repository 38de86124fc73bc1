// node_client.js: a Node client that opens 10 connections to a server that hangs up
// on each; 6 are closed as they should be, 4 (allowHalfOpen, never ended: the bug)
// stay in CLOSE_WAIT. Exits with process.exit() once the shim has seen them.
'use strict';
const net = require('net');

const server = net.createServer((s) => s.end());
server.listen(0, '127.0.0.1', () => {
  const port = server.address().port;
  let pending = 10;
  const done = () => {
    if (--pending === 0) {
      server.close();
      console.log('ready');
      setTimeout(() => process.exit(0), Number(process.argv[2] || 1000));
    }
  };
  for (let i = 0; i < 10; i++) {
    const leak = i % 5 >= 3; // 3, 4, 8, 9
    const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: leak });
    c.on('end', () => {
      if (!leak) c.destroy();
      done();
    });
    c.resume();
  }
});

'use strict';
// A plain-TCP loopback peer that counts the connections it gets and drops them: a call pointed
// at it that sends anything is seen here ("nothing sent" is proved by a count of 0).

const net = require('node:net');

async function startCounter() {
  const peers = [];
  const server = net.createServer((socket) => {
    peers.push(socket.remotePort);
    socket.destroy();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  const probes = new Set();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    /**
     * How many connections (not its own probes) arrived before now: connects once itself and
     * waits until that probe is accepted; accepts are first come, first served.
     */
    async seen() {
      const probe = net.connect(port, '127.0.0.1');
      await new Promise((resolve, reject) => probe.once('connect', resolve).once('error', reject));
      const me = probe.localPort;
      probes.add(me);
      const deadline = Date.now() + 5000;
      while (!peers.includes(me)) {
        if (Date.now() > deadline) throw new Error('the counter stopped accepting');
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      probe.destroy();
      return peers.filter((p) => !probes.has(p)).length;
    },
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

module.exports = { startCounter };

#!/usr/bin/env node
'use strict';
// The `concur-emulator` command of the npm package: runs the prebuilt program of this
// platform (or $CONCUR_EMULATOR_BINARY) with the same arguments, standard streams and exit
// status. `npx concur-emulator --help` lists every flag and endpoint.

const { spawn } = require('node:child_process');
const { findBinary } = require('../lib/binary.js');

let binary;
try {
  binary = findBinary();
} catch (e) {
  process.stderr.write(`${e.message}\n`);
  process.exit(2);
}
const child = spawn(binary, process.argv.slice(2), { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => child.kill(signal));
}
child.on('error', (e) => {
  process.stderr.write(`concur-emulator: cannot run ${binary}: ${e.message}\n`);
  process.exit(2);
});
child.on('exit', (code, signal) => {
  if (signal) {
    // End the way the program ended: the default action of its signal.
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  }
  else process.exit(code ?? 1);
});

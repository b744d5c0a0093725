'use strict';
// Starts the project's loopback HTTPS test server (emulator/) for a test file. The binary
// comes from CONCUR_TEST_SERVER when set (the test script sets it), else from `cargo run`.

const { spawn } = require('node:child_process');
const path = require('node:path');
const readline = require('node:readline');

const repo = path.resolve(__dirname, '..', '..', '..', '..');

function command() {
  const binary = process.env.CONCUR_TEST_SERVER;
  if (binary) return [binary, ['--exit-on-stdin-eof']];
  return [
    'cargo',
    ['run', '--quiet', '--manifest-path', path.join(repo, 'Cargo.toml'), '-p', 'concur-emulator',
      '--', '--exit-on-stdin-eof'],
  ];
}

async function startServer() {
  const [program, args] = command();
  const child = spawn(program, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = readline.createInterface({ input: child.stdout });
  const line = await new Promise((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`test server exited with ${code}`)));
  });
  lines.close();
  const info = JSON.parse(line);
  return {
    ...info,
    scenario: (name) => `${info.base_url}/s/${name}`,
    options: (extra = {}) => ({
      consumerKey: info.consumer_key,
      loginId: info.login_id,
      password: info.password,
      baseUrl: info.base_url,
      caFile: info.ca_file,
      timeoutMs: 10000,
      ...extra,
    }),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.stdin.end(); // the server exits when its stdin closes
      }),
  };
}

module.exports = { startServer };

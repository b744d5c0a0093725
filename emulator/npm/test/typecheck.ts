// Compiled, never run (tsc --noEmit, tests/run.sh): lib/index.d.ts describes what a user's
// TypeScript test writes with concur-emulator.
import { startEmulator, useEmulator, EmulatorError, findBinary } from '../lib/index.js';
import type { Emulator, JournalEntry, Company } from '../lib/index.js';

async function user(): Promise<void> {
  const emulator: Emulator = await startEmulator({ rotate: 'never', accessLifetime: 60, seed: { companies: [] } });
  const company: Company = await emulator.addCompany({ name: 'Acme' });
  const token: string = company.request_token;
  await emulator.advance(3600);
  await emulator.revoke({ connection: company.id });
  await emulator.expire({ all: true });
  await emulator.fault({ endpoint: 'token', kind: 'rate-limit', count: 2, retry_after: 1 });
  const journal: JournalEntry[] = await emulator.journal(0);
  const status: number = journal[0].status;
  const ca: Buffer = emulator.ca;
  await emulator.clearJournal();
  await emulator.stop();
  try {
    await startEmulator({ port: 1 });
  } catch (e) {
    if (e instanceof EmulatorError) console.log(e.status, e.detail);
  }
  console.log(token, status, ca.length, findBinary());
  // @ts-expect-error: rotation modes are always, never and sometimes
  await emulator.setRotation('often');
}

const shared: Emulator = useEmulator({ reset: false });
void user;
void shared;

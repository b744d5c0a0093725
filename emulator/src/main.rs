//! `concur-emulator`: starts the emulator, prints its JSON line and serves (see `--help`).

fn main() {
    concur_emulator::program::main();
}

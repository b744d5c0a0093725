//! `concur-test-server`: the emulator under the name the project's test scripts have always started.

fn main() {
    concur_emulator::program::main();
}

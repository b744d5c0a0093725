//! Where each secret comes from: its environment variable, else a prompt without echo.

use concur_native::Error;
use zeroize::Zeroizing;

/// A secret from its environment variable, else from a prompt on the terminal without echo.
pub(crate) fn secret(variable: &str, prompt: &str) -> Result<Zeroizing<String>, Error> {
    if let Ok(value) = std::env::var(variable) {
        return Ok(Zeroizing::new(value));
    }
    hidden::prompt(prompt).map_err(|_| {
        Error::invalid_argument(format!("set {variable}, or run in a terminal to be asked"))
    })
}

/// A prompt on the terminal that never echoes: echo is turned off *before* the prompt is
/// shown, so that nothing typed ahead of it appears either (rpassword showed the prompt first,
/// and a fast typist's first characters were echoed).
mod hidden {
    use std::fs::File;
    use std::io::{self, BufRead, BufReader, Write};
    use std::os::fd::AsRawFd;

    use zeroize::Zeroizing;

    /// Restores the terminal's settings when dropped, whatever happened meanwhile.
    struct EchoOff<'a> {
        tty: &'a File,
        saved: libc::termios,
    }

    impl<'a> EchoOff<'a> {
        fn new(tty: &'a File) -> io::Result<EchoOff<'a>> {
            // SAFETY: termios is plain data; tcgetattr fills it for a descriptor we own.
            let mut saved: libc::termios = unsafe { std::mem::zeroed() };
            if unsafe { libc::tcgetattr(tty.as_raw_fd(), &mut saved) } != 0 {
                return Err(io::Error::last_os_error());
            }
            let mut quiet = saved;
            quiet.c_lflag &= !(libc::ECHO | libc::ECHONL);
            quiet.c_lflag |= libc::ICANON;
            // SAFETY: as above; TCSANOW keeps what was typed ahead, now unechoed.
            if unsafe { libc::tcsetattr(tty.as_raw_fd(), libc::TCSANOW, &quiet) } != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(EchoOff { tty, saved })
        }
    }

    impl Drop for EchoOff<'_> {
        fn drop(&mut self) {
            // SAFETY: restores the settings read in `new` on the same descriptor.
            unsafe { libc::tcsetattr(self.tty.as_raw_fd(), libc::TCSANOW, &self.saved) };
        }
    }

    pub(super) fn prompt(prompt: &str) -> io::Result<Zeroizing<String>> {
        let tty = File::options().read(true).write(true).open("/dev/tty")?;
        let echo_off = EchoOff::new(&tty)?;
        (&tty).write_all(prompt.as_bytes())?;
        (&tty).flush()?;
        let mut line = Zeroizing::new(String::new());
        BufReader::new(&tty).read_line(&mut line)?;
        drop(echo_off);
        (&tty).write_all(b"\n")?;
        while line.ends_with('\n') || line.ends_with('\r') {
            line.pop();
        }
        Ok(line)
    }
}

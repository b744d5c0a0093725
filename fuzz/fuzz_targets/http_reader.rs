//! The whole response path: the input is written, as is, as the HTTP answer of a loopback
//! server, and the real client reads it (status line, headers, chunked or gzip bodies, the
//! 64 KiB cap) and interprets it. Any outcome but a panic or a hang is fine.
#![no_main]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use concur_native::{Options, native_token};
use libfuzzer_sys::fuzz_target;

struct Harness {
    options: Options,
    answers: SyncSender<Vec<u8>>,
}

fn serve(listener: TcpListener, answers: Receiver<Vec<u8>>) {
    // The input is queued before the call connects. A second connection within one call (a
    // GET repeated on a fresh connection after a close with no answer) gets the same input.
    let mut answer = Vec::new();
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        if let Ok(next) = answers.try_recv() {
            answer = next;
        }
        let mut reader = BufReader::new(stream.try_clone().expect("clone"));
        let mut line = String::new();
        // Read the request head, then answer with the fuzz input and hang up.
        while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) {
            if line == "\r\n" {
                break;
            }
            line.clear();
        }
        let _ = stream.write_all(&answer);
    }
}

fn harness() -> &'static Mutex<Harness> {
    static HARNESS: OnceLock<Mutex<Harness>> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (answers, inbox) = sync_channel(1);
        std::thread::spawn(move || serve(listener, inbox));
        // One-shot calls: no connection is pooled from one input to the next. No retries
        // after a 429/503: each would wait out a backoff for nothing.
        let options = Options::new()
            .base_url(base)
            .timeout(Duration::from_secs(2))
            .retries(0);
        Mutex::new(Harness { options, answers })
    })
}

fuzz_target!(|data: &[u8]| {
    let harness = harness().lock().unwrap_or_else(|p| p.into_inner());
    harness.answers.send(data.to_vec()).expect("server alive");
    if let Err(e) = native_token("key", "user", "password", &harness.options) {
        let text = e.to_string();
        assert!(!text.contains('\n') && !text.contains('\r'), "one line: {text:?}");
        // The Basic credentials, base64("user:password"), are never quoted.
        assert!(!text.contains("dXNlcjpwYXNzd29yZA"), "{text}");
    }
});

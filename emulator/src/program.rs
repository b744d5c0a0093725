//! The program (`concur-emulator`, also installed as `concur-test-server`): the emulator on its own, for examples and for the Python
//! and Node tests. It prints one JSON line (base URLs, CA file, the demo accounts, the oauth2/v0
//! client and demo values, the URL of a CONNECT proxy that tunnels `concur.test` to the
//! server) to stdout, then serves until killed, or until its standard input
//! closes with `--exit-on-stdin-eof`.

use std::io::{Read, Write};

use crate::{
    ACCOUNTS, CLIENT_SECRET, COMPANY_ID, CONSUMER_KEY, ConnectProxy, EU_PASSWORD, EU_USERNAME,
    FAULT_SCENARIOS, LOCKED_USERNAME, OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET, OTP_CODE,
    REQUEST_TOKEN, SCENARIOS, TestServer,
};

fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Runs the program with the process's arguments; never returns while serving.
pub fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!(
            "usage: concur-test-server [--exit-on-stdin-eof] [--no-recording]\n\n\
             --no-recording: keep no log of requests and no record of net2 tokens (for\n\
             benchmarks; net2 refresh and revocation then know no tokens; oauth2/v0 grants,\n\
             rotation and revocation keep working)\n\nScenarios ({{base}}/s/NAME):"
        );
        for (name, what) in SCENARIOS.iter().chain(FAULT_SCENARIOS) {
            println!("  {name:<24} {what}");
        }
        return;
    }
    let server = match TestServer::start() {
        Ok(server) => server,
        Err(e) => {
            eprintln!("concur-test-server: cannot start: {e}");
            std::process::exit(1);
        }
    };
    let proxy = match ConnectProxy::start() {
        Ok(proxy) => proxy,
        Err(e) => {
            eprintln!("concur-test-server: cannot start the proxy: {e}");
            std::process::exit(1);
        }
    };
    if args.iter().any(|a| a == "--no-recording") {
        server.set_recording(false);
    }
    let demo = &ACCOUNTS[0];
    let accounts: Vec<String> = ACCOUNTS
        .iter()
        .map(|a| {
            format!(
                "{{\"login_id\":{},\"password\":{}}}",
                json_string(a.login_id),
                json_string(a.password)
            )
        })
        .collect();
    println!(
        "{{\"base_url\":{},\"plain_base_url\":{},\"localhost_url\":{},\"port\":{},\"ca_file\":{},\
         \"consumer_key\":{},\"client_secret\":{},\"login_id\":{},\"password\":{},\"accounts\":[{}],\
         \"second_base_url\":{},\"evil_base_url\":{},\"oauth2_client_id\":{},\
         \"oauth2_client_secret\":{},\"company_id\":{},\"request_token\":{},\"otp\":{},\
         \"eu_username\":{},\"eu_password\":{},\"locked_username\":{},\"proxy_url\":{}}}",
        json_string(&server.base_url()),
        json_string(&server.plain_base_url()),
        json_string(&server.localhost_url()),
        server.port(),
        json_string(&server.ca_file().to_string_lossy()),
        json_string(CONSUMER_KEY),
        json_string(CLIENT_SECRET),
        json_string(demo.login_id),
        json_string(demo.password),
        accounts.join(","),
        json_string(&server.second_base_url()),
        json_string(&server.evil_base_url()),
        json_string(OAUTH2_CLIENT_ID),
        json_string(OAUTH2_CLIENT_SECRET),
        json_string(COMPANY_ID),
        json_string(REQUEST_TOKEN),
        json_string(OTP_CODE),
        json_string(EU_USERNAME),
        json_string(EU_PASSWORD),
        json_string(LOCKED_USERNAME),
        json_string(&proxy.url()),
    );
    let _ = std::io::stdout().flush();
    if args.iter().any(|a| a == "--exit-on-stdin-eof") {
        let mut sink = Vec::new();
        let _ = std::io::stdin().read_to_end(&mut sink);
    } else {
        loop {
            std::thread::park();
        }
    }
}

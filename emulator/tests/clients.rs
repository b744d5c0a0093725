//! The emulator answers clients that are not ours the same way: a plain `curl` and Python's
//! `urllib` (standard library only) get a token over HTTPS, trusting the emulator's CA file,
//! and call the protected API with it.

use std::process::Command;

use concur_emulator::json::Json;
use concur_emulator::{Emulator, OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET};

const FORM: &[(&str, &str)] = &[
    ("grant_type", "password"),
    ("username", "demo.user@example.com"),
    ("password", "correct horse battery staple"),
];

fn installed(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The member names of a JSON object, sorted.
fn shape(json: &Json) -> Vec<String> {
    let Json::Object(members) = json else {
        panic!("an object: {json:?}")
    };
    let mut names: Vec<String> = members.iter().map(|(n, _)| n.clone()).collect();
    names.sort();
    names
}

fn with_curl(server: &Emulator) -> (Json, String) {
    let mut args = vec![
        "-sS".to_string(),
        "--noproxy".into(),
        "*".into(),
        "--cacert".into(),
        server.ca_file().to_string_lossy().into_owned(),
        "--data-urlencode".into(),
        format!("client_id={OAUTH2_CLIENT_ID}"),
        "--data-urlencode".into(),
        format!("client_secret={OAUTH2_CLIENT_SECRET}"),
    ];
    for (name, value) in FORM {
        args.push("--data-urlencode".into());
        args.push(format!("{name}={value}"));
    }
    args.push(format!("{}/oauth2/v0/token", server.base_url()));
    let output = Command::new("curl").args(&args).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = Json::parse(&String::from_utf8(output.stdout).unwrap()).expect("JSON");
    let access = token.str_of("access_token").unwrap().to_string();
    let status = Command::new("curl")
        .args([
            "-sS",
            "--noproxy",
            "*",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--cacert",
        ])
        .arg(server.ca_file())
        .arg("-H")
        .arg(format!("Authorization: Bearer {access}"))
        .arg(format!("{}/profile/identity/v4.1/Users", server.base_url()))
        .output()
        .unwrap();
    (token, String::from_utf8(status.stdout).unwrap())
}

const PYTHON: &str = r#"
import json, ssl, sys, urllib.parse, urllib.request
base, ca, client_id, secret = sys.argv[1:5]
context = ssl.create_default_context(cafile=ca)
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
form = urllib.parse.urlencode({"client_id": client_id, "client_secret": secret,
    "grant_type": "password", "username": "demo.user@example.com",
    "password": "correct horse battery staple"}).encode()
request = urllib.request.Request(base + "/oauth2/v0/token", data=form,
    headers={"Content-Type": "application/x-www-form-urlencoded"})
token = json.load(opener.open(request))
users = urllib.request.Request(base + "/profile/identity/v4.1/Users",
    headers={"Authorization": "Bearer " + token["access_token"]})
status = opener.open(users).status
print(json.dumps(token))
print(status)
"#;

fn with_python(server: &Emulator) -> (Json, String) {
    let output = Command::new("python3")
        .args(["-c", PYTHON, &server.base_url()])
        .arg(server.ca_file())
        .args([OAUTH2_CLIENT_ID, OAUTH2_CLIENT_SECRET])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let mut lines = text.lines();
    let token = Json::parse(lines.next().unwrap()).expect("JSON");
    (token, lines.next().unwrap().to_string())
}

#[test]
fn curl_and_python_urllib_get_the_same_answer() {
    let server = Emulator::start().unwrap();
    let mut shapes = Vec::new();
    if installed("curl") {
        let (token, status) = with_curl(&server);
        assert_eq!(status, "200");
        shapes.push(shape(&token));
    } else {
        eprintln!("curl is not installed: its half of this test did not run");
    }
    if installed("python3") {
        let (token, status) = with_python(&server);
        assert_eq!(status, "200");
        assert_eq!(token.str_of("expires_in"), Some("3600"));
        assert_eq!(token.str_of("token_type"), Some("Bearer"));
        shapes.push(shape(&token));
    } else {
        eprintln!("python3 is not installed: its half of this test did not run");
    }
    assert!(!shapes.is_empty(), "neither curl nor python3 is installed");
    for s in &shapes {
        assert_eq!(
            s,
            &[
                "access_token",
                "expires_in",
                "geolocation",
                "id_token",
                "refresh_expires_in",
                "refresh_token",
                "scope",
                "token_type",
            ]
        );
    }
    // Both refresh tokens are live and distinct in the emulator's record.
    let record = server.refresh_token_uses();
    assert_eq!(record.len(), shapes.len());
}

#[test]
fn the_users_own_certificate_and_key_are_served() {
    if !installed("curl") {
        eprintln!("curl is not installed: this test did not run");
        return;
    }
    // Another emulator's certificate plays the user's own, signed by a CA the user trusts.
    let issuer = Emulator::start().unwrap();
    let options = concur_emulator::Options {
        port: 0,
        cert_and_key: Some((issuer.cert_pem().to_string(), issuer.key_pem().to_string())),
    };
    let server = Emulator::start_with_options(&options).unwrap();
    assert_eq!(server.cert_pem(), issuer.cert_pem());
    let health = |ca: &std::path::Path| {
        Command::new("curl")
            .args(["-sS", "--noproxy", "*", "--cacert"])
            .arg(ca)
            .arg(format!("{}/_emulator/health", server.base_url()))
            .output()
            .unwrap()
    };
    let trusted = health(issuer.ca_file());
    assert!(
        trusted.status.success(),
        "{}",
        String::from_utf8_lossy(&trusted.stderr)
    );
    assert!(String::from_utf8_lossy(&trusted.stdout).contains("\"ok\""));
    // A CA that did not sign it is refused: the generated certificate is really replaced.
    let stranger = Emulator::start().unwrap();
    assert!(!health(stranger.ca_file()).status.success());
    // A key that does not go with the certificate is a start-up error.
    let mismatched = concur_emulator::Options {
        port: 0,
        cert_and_key: Some((
            issuer.cert_pem().to_string(),
            stranger.key_pem().to_string(),
        )),
    };
    assert!(Emulator::start_with_options(&mismatched).is_err());
}

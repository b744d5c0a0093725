//! No freed block of memory holds a token or a code after the library read it: a global
//! allocator scans every block freed while the check runs for marker secrets (audit #3: the
//! parsed field strings and the decoded callback parameters were freed unwiped).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use zeroize::Zeroizing;

const MARKERS: [&[u8]; 4] = [
    b"TOKENMARKERq7Zx",
    b"REFRESHMARKERk3Jw",
    b"CODEMARKERp9Vb",
    b"SECRETMARKERm4Ht",
];

/// System's allocator, counting freed blocks that hold a marker while `SCANNING` is set.
struct Scanning;

static SCANNING: AtomicBool = AtomicBool::new(false);
static FOUND: AtomicUsize = AtomicUsize::new(0);

fn holds_marker(block: &[u8]) -> bool {
    MARKERS
        .iter()
        .any(|m| block.windows(m.len()).any(|w| w == *m))
}

// SAFETY: delegates every allocation to System; `dealloc` only reads the block it frees.
unsafe impl GlobalAlloc for Scanning {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if SCANNING.load(Ordering::SeqCst) {
            // SAFETY: the block is live, `layout.size()` bytes long, until freed below.
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if holds_marker(block) {
                FOUND.fetch_add(1, Ordering::SeqCst);
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A move leaves the old block behind: scan it as a free.
        if SCANNING.load(Ordering::SeqCst) {
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            if holds_marker(block) {
                FOUND.fetch_add(1, Ordering::SeqCst);
            }
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Scanning = Scanning;

/// One scan at a time (the test harness runs tests on several threads).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How many freed blocks held a marker while `body` ran. The inputs are built before and
/// dropped after the scan: they are the caller's copies, not the library's.
fn unwiped_frees(body: impl FnOnce()) -> usize {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    FOUND.store(0, Ordering::SeqCst);
    SCANNING.store(true, Ordering::SeqCst);
    body();
    SCANNING.store(false, Ordering::SeqCst);
    FOUND.load(Ordering::SeqCst)
}

// Inputs are held in `Zeroizing` buffers: the harness runs tests on several threads, and an
// input freed unwiped after its own scan would be counted by another test's scan.

fn xml() -> Zeroizing<Vec<u8>> {
    Zeroizing::new(
        b"<Access_Token><Token> TOKENMARKERq7Zx </Token><Expiration_date>6/1/2030 8:00:00 AM\
      </Expiration_date><Refresh_Token>REFRESHMARKERk3Jw</Refresh_Token>\
      <Instance_Url>https://i.example/</Instance_Url></Access_Token>"
            .to_vec(),
    )
}

fn json() -> Zeroizing<Vec<u8>> {
    Zeroizing::new(br#"{"Access_Token":{"Token":" TOKENMARKERq7Zx ","Refresh_Token":"REFRESHMARKERk3Jw","Expiration_date":"6/1/2030 8:00:00 AM"}}"#
        .to_vec())
}

#[test]
fn parsing_a_token_document_leaves_no_unwiped_copy() {
    for (body, content_type) in [(xml(), None), (json(), Some("application/json"))] {
        let found = unwiped_frees(|| {
            let token = concur_native::parse_token_document(&body, content_type).unwrap();
            assert_eq!(token.token(), "TOKENMARKERq7Zx");
            assert_eq!(token.refresh_token(), Some("REFRESHMARKERk3Jw"));
            drop(token); // wipes itself
        });
        assert_eq!(found, 0, "{content_type:?}: freed unwiped copies");
    }
}

#[test]
fn parsing_a_callback_leaves_no_unwiped_copy() {
    let url = Zeroizing::new(
        "https://app.example/cb?state=s&code=CODEMARKERp9Vb%2B1&other=x".to_string(),
    );
    let found = unwiped_frees(|| {
        let code = Zeroizing::new(concur_native::parse_callback(&url, Some("s")).unwrap());
        assert_eq!(code.as_str(), "CODEMARKERp9Vb+1");
    });
    assert_eq!(found, 0, "freed unwiped copies of the code");
}

#[test]
fn the_scanner_sees_an_unwiped_copy() {
    let found = unwiped_frees(|| drop(String::from_utf8(b"xxTOKENMARKERq7Zxyy".to_vec())));
    assert_eq!(found, 1);
}

/// A port nothing listens on: the request is built, handed to the HTTP stack and dropped when
/// the connection is refused, and nothing is sent anywhere.
fn refused_base() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}")
}

#[test]
fn a_request_leaves_no_unwiped_copy_of_its_secrets() {
    use concur_native::{Client, Grant, Options};
    let client = Client::new(&Options::new().base_url(refused_base())).unwrap();
    let (secret, refresh, code) = (
        Zeroizing::new("SECRETMARKERm4Ht".to_string()),
        Zeroizing::new("REFRESHMARKERk3Jw".to_string()),
        Zeroizing::new("CODEMARKERp9Vb".to_string()),
    );
    let found = unwiped_frees(|| {
        // Legacy: the secrets travel in the URL's query (the http::Uri shares its buffer).
        assert!(client.refresh_token("id", &secret, &refresh).is_err());
        assert!(client.exchange_code("id", &secret, &code).is_err());
        // Current API: the secrets travel in a form body.
        let grant = Grant::RefreshToken {
            refresh_token: &refresh,
            scope: None,
        };
        assert!(client.oauth2_token("id", &secret, &grant, None).is_err());
        let grant = Grant::AuthorizationCode {
            code: &code,
            redirect_uri: "https://a/cb",
        };
        assert!(client.oauth2_token("id", &secret, &grant, None).is_err());
    });
    assert_eq!(found, 0, "freed unwiped copies of a secret");
}

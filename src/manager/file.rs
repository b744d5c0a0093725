//! A token kept in a file, for the processes of one machine: replaced atomically (never a
//! partial file), readable by its owner only, and an advisory lock around each refresh. The
//! token file and its lock are opened without following symbolic links and refused when
//! another user owns them or others may read them, as ssh treats its keys.
//!
//! `flock` is advisory and, on many systems, not shared between the clients of a network file
//! system: two machines over NFS may both believe they hold the lock. For more than one
//! machine, use Redis.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::thread::sleep;
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::error::Error;
use crate::manager::store::{Document, StoreLock, TokenStore};

/// Stored tokens are far smaller; a larger file is not one.
const MAX_DOCUMENT: u64 = 64 * 1024;

/// Keeps the token in a file (mode 0600). Each save writes a temporary file beside it, syncs
/// it and renames it over the old one, so a reader sees the old document or the new one, never
/// a part; a process killed mid-save leaves the old document. Refreshes are serialised across
/// processes by `flock` on `{path}.lock`, which the kernel releases when a holder dies. A
/// token file or lock that is a symbolic link, belongs to another user or may be read by
/// others is a [`Store`](crate::ErrorKind::Store) error, left as it is.
#[derive(Debug, Clone)]
pub struct FileStore {
    path: PathBuf,
    lock_path: PathBuf,
}

impl FileStore {
    /// A store at `path` (created on the first save; its directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> FileStore {
        let path = path.into();
        let mut lock_path = path.clone().into_os_string();
        lock_path.push(".lock");
        FileStore {
            path,
            lock_path: lock_path.into(),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> Result<Option<Document>, Error> {
        let mut file = match open_private(OpenOptions::new().read(true), &self.path) {
            Ok(file) => file,
            Err(Opening::Missing) => return Ok(None),
            Err(Opening::Unsafe) => return Err(unsafe_file("token file")),
            Err(Opening::Failed) => return Err(Error::store("the token file cannot be read")),
        };
        let mut document = Zeroizing::new(Vec::with_capacity(4096));
        (&mut file)
            .take(MAX_DOCUMENT + 1)
            .read_to_end(&mut document)
            .map_err(|_| Error::store("the token file cannot be read"))?;
        if document.len() as u64 > MAX_DOCUMENT {
            return Err(Error::store(
                "the token file is too large to be a stored token",
            ));
        }
        Ok(Some(document))
    }

    fn write(&self, document: &[u8]) -> Result<(), Error> {
        let cannot = || Error::store("the token file cannot be written");
        let dir = match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(format!(
            ".{}.{}.tmp",
            std::process::id(),
            crate::random::uuid_v4()
        ));
        let tmp = PathBuf::from(tmp);
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)?;
            file.write_all(document)?;
            file.sync_all()?;
            std::fs::rename(&tmp, &self.path)?;
            // The rename itself must survive a crash.
            File::open(&dir)?.sync_all()
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
            return Err(cannot());
        }
        Ok(())
    }
}

/// Why a private file did not open.
enum Opening {
    Missing,
    Unsafe,
    Failed,
}

/// Opens `path` without following a symbolic link, and only if this user owns it and nobody
/// else may read or write it.
fn open_private(options: &mut OpenOptions, path: &Path) -> Result<File, Opening> {
    let file = options
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| match (e.kind(), e.raw_os_error()) {
            (std::io::ErrorKind::NotFound, _) => Opening::Missing,
            // O_NOFOLLOW on a symbolic link.
            (_, Some(libc::ELOOP)) => Opening::Unsafe,
            _ => Opening::Failed,
        })?;
    let meta = file.metadata().map_err(|_| Opening::Failed)?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if !meta.is_file() || meta.uid() != me || meta.mode() & 0o077 != 0 {
        return Err(Opening::Unsafe);
    }
    Ok(file)
}

fn unsafe_file(what: &str) -> Error {
    Error::store(format!(
        "the {what} is a symbolic link, not a file, belongs to another user, or may be read \
         or written by others (it must be this user's, mode 0600)"
    ))
}

impl TokenStore for FileStore {
    fn load(&self) -> Result<Option<Document>, Error> {
        self.read()
    }

    fn identity(&self) -> String {
        self.path.to_string_lossy().into_owned()
    }

    fn lock(&self, wait: Duration) -> Result<Box<dyn StoreLock + '_>, Error> {
        let file = open_private(
            OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600),
            &self.lock_path,
        )
        .map_err(|e| match e {
            Opening::Unsafe => unsafe_file("token file's lock"),
            _ => Error::store("the token file's lock cannot be opened"),
        })?;
        let deadline = Instant::now() + wait;
        let mut pause = Duration::from_millis(1);
        loop {
            // SAFETY: flock on a descriptor this function owns; no memory is involved.
            let taken =
                unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
            if taken {
                return Ok(Box::new(FileLock {
                    store: self,
                    _file: file,
                }));
            }
            if Instant::now() >= deadline {
                return Err(Error::lock_busy(
                    "the token file's lock was not released in time",
                ));
            }
            sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(20));
        }
    }
}

/// The `flock` is released when the descriptor closes: on drop, or when the process dies.
struct FileLock<'a> {
    store: &'a FileStore,
    _file: File,
}

impl StoreLock for FileLock<'_> {
    fn load(&mut self) -> Result<Option<Document>, Error> {
        self.store.read()
    }

    // The flock cannot lapse while this process lives: holding it is the compare-and-swap.
    fn save(&mut self, document: &[u8]) -> Result<(), Error> {
        self.store.write(document)
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::manager::store::StoredToken;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("concur-file-store-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("token.json")
    }

    #[test]
    fn saves_whole_files_readable_by_the_owner_only() {
        let path = temp("save");
        let store = FileStore::new(&path);
        assert!(store.load().unwrap().is_none());
        let token = StoredToken {
            refresh_token: Some("rt".into()),
            access_token: Some("at".into()),
            expires_at: Some(10),
            refresh_expires_at: None,
            geolocation: None,
        };
        store
            .lock(Duration::from_secs(1))
            .unwrap()
            .save(&token.to_document())
            .unwrap();
        let loaded = store.load().unwrap().unwrap();
        assert_eq!(StoredToken::from_document(&loaded).unwrap(), token);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn garbage_and_unwritable_places_are_store_errors() {
        let path = temp("garbage");
        std::fs::write(&path, b"{\"refresh_token\": 42").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let garbage = FileStore::new(&path).load().unwrap().unwrap();
        let e = StoredToken::from_document(&garbage).unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Store);
        let nowhere = FileStore::new("/nonexistent-dir/for/sure/token.json");
        assert_eq!(
            nowhere.lock(Duration::from_millis(1)).err().unwrap().kind(),
            crate::ErrorKind::Store
        );
    }

    #[test]
    fn the_lock_excludes_another_holder_and_times_out() {
        let path = temp("lock");
        let a = FileStore::new(&path);
        let b = FileStore::new(&path);
        let held = a.lock(Duration::from_millis(10)).unwrap();
        let e = b.lock(Duration::from_millis(30)).err().unwrap();
        assert_eq!(e.kind(), crate::ErrorKind::Store);
        drop(held);
        assert!(b.lock(Duration::from_millis(10)).is_ok());
    }

    #[test]
    fn symbolic_links_and_files_others_may_read_are_refused_and_left_alone() {
        let path = temp("planted");
        let target = path.with_file_name("elsewhere.json");
        std::fs::write(&target, b"precious").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let store = FileStore::new(&path);
        let e = store.load().unwrap_err();
        assert_eq!(e.kind(), crate::ErrorKind::Store);
        assert!(e.to_string().contains("symbolic link"), "{e}");
        // A planted lock link is refused too, and its target is not created or touched.
        let lock_target = path.with_file_name("lock-target");
        std::os::unix::fs::symlink(&lock_target, store.lock_path.clone()).unwrap();
        assert!(store.lock(Duration::from_millis(5)).is_err());
        assert!(!lock_target.exists());
        assert_eq!(std::fs::read(&target).unwrap(), b"precious");

        let open = temp("readable");
        std::fs::write(&open, StoredToken::default().to_document().as_slice()).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = FileStore::new(&open).load().unwrap_err();
        assert!(e.to_string().contains("0600"), "{e}");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(FileStore::new(&open).load().unwrap().is_some());
    }
}

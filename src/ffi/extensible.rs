//! The `struct_size` rule of the extensible C structs: which sizes are accepted, and how.
//!
//! Each extensible struct starts with `uint32_t struct_size`, which the caller sets to
//! `sizeof` the struct it was compiled with. A later version of the library only ever adds
//! fields at or after the end (`sizeof`, padding included) of the previous version's layout, and
//! reads or writes a field only when it lies within `struct_size`; so a program compiled against
//! an older header keeps working with a newer library. Most layouts are still their first ones,
//! so the smallest size accepted is this version's `sizeof`; `concur_options` has grown once
//! (`proxy_env` and `trust_store` at its end), and `concur_token_manager_options` once
//! (`floor_seconds` to `event_user`), so their first layouts' sizes are accepted too, and the
//! fields past them read as 0 (NULL), their defaults (see [`input_grown`]).

use super::failure::{Failure, invalid};

/// The largest `struct_size` believed: anything larger is taken for an unset (garbage) field
/// rather than read.
pub(crate) const MAX_STRUCT_SIZE: u32 = 4096;

/// The `struct_size` of `ptr`'s struct, checked: at least `size_of::<T>()`, at most
/// [`MAX_STRUCT_SIZE`]. `zero_is_full` lets 0 stand for this version's layout (`concur_options`
/// only, so that a zero-initialised one means "defaults").
///
/// # Safety
/// `ptr` must point to a struct that starts with a `uint32_t struct_size`.
unsafe fn checked_size<T>(ptr: *const T, name: &str, zero_is_full: bool) -> Result<usize, Failure> {
    // SAFETY: forwarded from the caller.
    unsafe { checked_size_from(ptr, name, zero_is_full, std::mem::size_of::<T>()) }
}

/// [`checked_size`], with sizes down to `oldest` (an older layout's) accepted.
///
/// # Safety
/// As for [`checked_size`].
unsafe fn checked_size_from<T>(
    ptr: *const T,
    name: &str,
    zero_is_full: bool,
    oldest: usize,
) -> Result<usize, Failure> {
    // SAFETY: the struct starts with a u32 by the caller's promise.
    let size = unsafe { ptr.cast::<u32>().read_unaligned() };
    let known = std::mem::size_of::<T>();
    match size {
        0 if zero_is_full => Ok(known),
        0 => Err(invalid(format!(
            "{name}->struct_size not set (set it to sizeof, or use the _init function)"
        ))),
        s if (s as usize) < oldest => Err(invalid(format!(
            "{name}->struct_size {s} is smaller than this version's layout ({known} bytes)"
        ))),
        s if s > MAX_STRUCT_SIZE => Err(invalid(format!(
            "{name}->struct_size {s} is implausible (at most {MAX_STRUCT_SIZE})"
        ))),
        s => Ok(s as usize),
    }
}

/// An input struct (NULL: `None`), once its `struct_size` is checked. A struct larger than this
/// version's layout (from a newer header) is accepted when every byte past this version's
/// fields is zero: a later field left unset; a later field set is refused, since this version
/// cannot honour it.
///
/// # Safety
/// `ptr` must be NULL or point to `struct_size` readable bytes that start with a `T`.
pub(crate) unsafe fn input<'a, T>(
    ptr: *const T,
    name: &str,
    zero_is_full: bool,
) -> Result<Option<&'a T>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, and starts with struct_size by the caller's promise.
    let size = unsafe { checked_size(ptr, name, zero_is_full) }?;
    let known = std::mem::size_of::<T>();
    // SAFETY: `size` readable bytes at `ptr` by the caller's promise.
    let tail = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>().add(known), size - known) };
    if tail.iter().any(|&b| b != 0) {
        return Err(invalid(format!(
            "{name} sets fields this version of the library does not know ({} bytes past its \
             {known}-byte layout): upgrade the library",
            size - known
        )));
    }
    // SAFETY: valid by the caller's promise.
    Ok(Some(unsafe { &*ptr }))
}

/// An input struct that has grown since its first layout, copied (NULL: `None`): like
/// [`input`], but a `struct_size` down to `oldest` (the size of its first layout) is accepted
/// too, and then the fields past `struct_size` are never read and come back as zero bytes
/// (every field's default). A copy, because a reference to a whole `T` would cover memory
/// past a smaller caller's struct.
///
/// # Safety
/// `ptr` must be NULL or point to `struct_size` readable bytes that start with a `T` (or with
/// its first `struct_size` bytes, for an older caller); `T` must be a `#[repr(C)]` struct of
/// integers, raw pointers and nullable (`Option`) function pointers, for which all-zero bytes
/// are a valid value; `oldest` must be at
/// least 4 (the `struct_size` field) and at most `size_of::<T>()`.
pub(crate) unsafe fn input_grown<T: Copy>(
    ptr: *const T,
    name: &str,
    zero_is_full: bool,
    oldest: usize,
) -> Result<Option<T>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, and starts with struct_size by the caller's promise.
    let size = unsafe { checked_size_from(ptr, name, zero_is_full, oldest) }?;
    let known = std::mem::size_of::<T>();
    if size > known {
        // SAFETY: `size` readable bytes at `ptr` by the caller's promise.
        let tail = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>().add(known), size - known) };
        if tail.iter().any(|&b| b != 0) {
            return Err(invalid(format!(
                "{name} sets fields this version of the library does not know ({} bytes past \
                 its {known}-byte layout): upgrade the library",
                size - known
            )));
        }
    }
    // SAFETY: all-zero is a valid T by the caller's promise.
    let mut copy: T = unsafe { std::mem::zeroed() };
    // SAFETY: at least min(size, known) bytes are readable at `ptr` (size ≥ oldest was
    // checked), `copy` has `known` writable bytes, and the two do not overlap.
    unsafe {
        std::ptr::copy_nonoverlapping(
            ptr.cast::<u8>(),
            std::ptr::from_mut(&mut copy).cast::<u8>(),
            size.min(known),
        );
    }
    Ok(Some(copy))
}

/// An output struct (NULL: `None`), once its `struct_size` is checked. Fields of a larger
/// struct (a newer header) that this version does not know are left untouched.
///
/// # Safety
/// `ptr` must be NULL or point to a writable struct that starts with a `T`.
pub(crate) unsafe fn output<'a, T>(ptr: *mut T, name: &str) -> Result<Option<&'a mut T>, Failure> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, and starts with struct_size by the caller's promise.
    unsafe { checked_size(ptr, name, false) }?;
    // SAFETY: valid and writable by the caller's promise.
    Ok(Some(unsafe { &mut *ptr }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C)]
    struct V1 {
        struct_size: u32,
        value: u32,
    }

    /// A caller's struct: a V1 followed by the fields of a later version.
    #[repr(C)]
    struct V2 {
        v1: V1,
        later: [u8; 8],
    }

    fn v2(size: u32, later: u8) -> V2 {
        V2 {
            v1: V1 {
                struct_size: size,
                value: 7,
            },
            later: [0, 0, 0, later, 0, 0, 0, 0],
        }
    }

    fn read(s: &V2, zero_is_full: bool) -> Result<u32, String> {
        // From the whole struct: the library may read past the V1 part.
        let ptr = std::ptr::from_ref(s).cast::<V1>();
        unsafe { input(ptr, "s", zero_is_full) }
            .map(|v| v.map_or(0, |v| v.value))
            .map_err(|f| f.message)
    }

    #[test]
    fn sizes_accepted_and_refused() {
        assert_eq!(read(&v2(8, 0), false), Ok(7));
        assert_eq!(
            read(&v2(16, 0), false),
            Ok(7),
            "a newer caller, later fields unset"
        );
        assert!(read(&v2(16, 1), false).unwrap_err().contains("upgrade"));
        assert_eq!(
            read(&v2(8, 1), false),
            Ok(7),
            "bytes past struct_size are never read"
        );
        assert!(
            read(&v2(0, 0), false)
                .unwrap_err()
                .contains("struct_size not set")
        );
        assert_eq!(read(&v2(0, 1), true), Ok(7), "0: this version's layout");
        assert!(read(&v2(4, 0), false).unwrap_err().contains("smaller"));
        assert!(
            read(&v2(5000, 0), false)
                .unwrap_err()
                .contains("implausible")
        );
        let null: *const V1 = std::ptr::null();
        assert!(matches!(unsafe { input(null, "s", false) }, Ok(None)));
        let mut s = v2(0, 0);
        let ptr = std::ptr::from_mut(&mut s).cast::<V1>();
        assert!(unsafe { output(ptr, "s") }.is_err());
        let mut s = v2(16, 9);
        let ptr = std::ptr::from_mut(&mut s).cast::<V1>();
        assert!(
            unsafe { output(ptr, "s") }.is_ok(),
            "unknown output fields are not checked"
        );
    }

    /// A struct that grew: V1 is its first layout, V2 (with `later`) the current one.
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Grown {
        struct_size: u32,
        value: u32,
        later: u32,
    }

    #[test]
    fn a_grown_struct_reads_older_callers_with_defaults() {
        let read = |bytes: &[u32]| {
            let ptr = bytes.as_ptr().cast::<Grown>();
            unsafe { input_grown(ptr, "g", true, 8) }
                .map(|g| g.map(|g| (g.value, g.later)))
                .map_err(|f| f.message)
        };
        // An older caller's 8 bytes: `later` is never read (the 99 past its struct_size is
        // not part of its struct) and comes back as 0.
        assert_eq!(read(&[8, 7, 99]), Ok(Some((7, 0))));
        assert_eq!(read(&[12, 7, 5]), Ok(Some((7, 5))));
        assert_eq!(
            read(&[0, 7, 5]),
            Ok(Some((7, 5))),
            "0: this version's layout"
        );
        assert_eq!(read(&[16, 7, 5, 0]), Ok(Some((7, 5))), "a newer caller");
        assert!(read(&[16, 7, 5, 1]).unwrap_err().contains("upgrade"));
        assert!(read(&[4, 7, 5]).unwrap_err().contains("smaller"));
        let null: *const Grown = std::ptr::null();
        assert!(matches!(
            unsafe { input_grown(null, "g", true, 8) },
            Ok(None)
        ));
    }
}

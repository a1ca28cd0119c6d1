//! The engine's state in fio's `void *` slots (`td->io_ops_data`,
//! `fio_file->engine_data`): a `Box<Box<dyn Any>>` behind the pointer, so
//! that this layer stores state of types it does not know (the engine's)
//! and hands it back only as the type it was stored as.

use std::any::Any;
use std::ffi::c_void;

type Slot = Box<dyn Any>;

/// Boxes `value` into a pointer for one of fio's slots.
pub(super) fn put<T: Any>(value: T) -> *mut c_void {
    let slot: Box<Slot> = Box::new(Box::new(value));
    Box::into_raw(slot).cast()
}

/// The value behind `p`, if it is a `T`.
///
/// # Safety
/// `p` is NULL or came from [`put`] and was not taken; no `&mut` to the
/// value lives during `'a`.
pub(super) unsafe fn get<'a, T: Any>(p: *mut c_void) -> Option<&'a T> {
    // SAFETY: by the contract, p is NULL or a live Box<Slot>.
    unsafe { p.cast::<Slot>().as_ref() }?.downcast_ref::<T>()
}

/// The value behind `p` for writing, if it is a `T`.
///
/// # Safety
/// As for [`get`], and no other reference to the value lives during `'a`.
pub(super) unsafe fn get_mut<'a, T: Any>(p: *mut c_void) -> Option<&'a mut T> {
    // SAFETY: by the contract, p is NULL or a live Box<Slot>, used only here.
    unsafe { p.cast::<Slot>().as_mut() }?.downcast_mut::<T>()
}

/// Takes the value behind `p` out, if it is a `T`; `p` is then freed and
/// the caller clears the slot. Any other value stays where it is.
///
/// # Safety
/// As for [`get_mut`].
pub(super) unsafe fn take<T: Any>(p: *mut c_void) -> Option<Box<T>> {
    // SAFETY: as in get().
    if !unsafe { p.cast::<Slot>().as_ref() }?.is::<T>() {
        return None;
    }
    // SAFETY: p came from Box::into_raw in put() and is taken once: the
    // caller clears the slot.
    let slot = unsafe { Box::from_raw(p.cast::<Slot>()) };
    slot.downcast::<T>().ok()
}

//! The few GSSAPI calls a one-round SPNEGO exchange needs, bound by hand
//! to MIT Kerberos's `libgssapi_krb5.so.2` and loaded at run time. The
//! types follow RFC 2744's C bindings.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void, CString};
use std::path::Path;
use std::ptr;
use std::sync::OnceLock;

use libloading::Library;

use crate::KrbError;

type OmUint32 = u32;
type GssName = *mut c_void;
type GssCtx = *mut c_void;

#[repr(C)]
struct Buffer {
    length: usize,
    value: *mut c_void,
}

impl Buffer {
    fn empty() -> Self {
        Buffer {
            length: 0,
            value: ptr::null_mut(),
        }
    }

    fn borrowed(bytes: &[u8]) -> Self {
        Buffer {
            length: bytes.len(),
            value: bytes.as_ptr().cast_mut().cast(),
        }
    }
}

#[repr(C)]
struct Oid {
    length: OmUint32,
    elements: *const c_void,
}

/// SPNEGO, 1.3.6.1.5.5.2.
const SPNEGO: [u8; 6] = [0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];
/// GSS_C_NT_HOSTBASED_SERVICE, 1.2.840.113554.1.2.1.4.
const HOSTBASED: [u8; 10] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x04];
const COMPLETE: OmUint32 = 0;
const GSS_CODE: c_int = 1;
const MECH_CODE: c_int = 2;
/// GSS_C_MUTUAL_FLAG is not asked: one round, the answer is the token.
const REQ_FLAGS: OmUint32 = 0;

type ImportName =
    unsafe extern "C" fn(*mut OmUint32, *mut Buffer, *const Oid, *mut GssName) -> OmUint32;
type InitSecContext = unsafe extern "C" fn(
    *mut OmUint32,
    *mut c_void,
    *mut GssCtx,
    GssName,
    *const Oid,
    OmUint32,
    OmUint32,
    *mut c_void,
    *mut Buffer,
    *mut *const Oid,
    *mut Buffer,
    *mut OmUint32,
    *mut OmUint32,
) -> OmUint32;
type AcceptSecContext = unsafe extern "C" fn(
    *mut OmUint32,
    *mut GssCtx,
    *mut c_void,
    *mut Buffer,
    *mut c_void,
    *mut GssName,
    *mut *const Oid,
    *mut Buffer,
    *mut OmUint32,
    *mut OmUint32,
    *mut *mut c_void,
) -> OmUint32;
type DisplayName =
    unsafe extern "C" fn(*mut OmUint32, GssName, *mut Buffer, *mut *const Oid) -> OmUint32;
type DisplayStatus = unsafe extern "C" fn(
    *mut OmUint32,
    OmUint32,
    c_int,
    *const Oid,
    *mut OmUint32,
    *mut Buffer,
) -> OmUint32;
type ReleaseBuffer = unsafe extern "C" fn(*mut OmUint32, *mut Buffer) -> OmUint32;
type ReleaseName = unsafe extern "C" fn(*mut OmUint32, *mut GssName) -> OmUint32;
type DeleteContext = unsafe extern "C" fn(*mut OmUint32, *mut GssCtx, *mut Buffer) -> OmUint32;
type RegisterAcceptor = unsafe extern "C" fn(*const c_char) -> OmUint32;
type CcacheName =
    unsafe extern "C" fn(*mut OmUint32, *const c_char, *mut *const c_char) -> OmUint32;

struct Api {
    import_name: ImportName,
    init: InitSecContext,
    accept: AcceptSecContext,
    display_name: DisplayName,
    display_status: DisplayStatus,
    release_buffer: ReleaseBuffer,
    release_name: ReleaseName,
    delete_context: DeleteContext,
    register_acceptor: RegisterAcceptor,
    ccache_name: CcacheName,
    _lib: Library,
}

fn api() -> Result<&'static Api, KrbError> {
    static API: OnceLock<Result<Api, String>> = OnceLock::new();
    API.get_or_init(|| unsafe { load() })
        .as_ref()
        .map_err(|e| KrbError::Unavailable(e.clone()))
}

unsafe fn load() -> Result<Api, String> {
    let lib = ["libgssapi_krb5.so.2", "libgssapi_krb5.so"]
        .iter()
        .find_map(|name| Library::new(name).ok())
        .ok_or("cannot load libgssapi_krb5.so.2 (install MIT Kerberos: libgssapi-krb5-2)")?;
    macro_rules! sym {
        ($name:literal) => {
            *lib.get(concat!($name, "\0").as_bytes())
                .map_err(|e| format!("{}: {e}", $name))?
        };
    }
    Ok(Api {
        import_name: sym!("gss_import_name"),
        init: sym!("gss_init_sec_context"),
        accept: sym!("gss_accept_sec_context"),
        display_name: sym!("gss_display_name"),
        display_status: sym!("gss_display_status"),
        release_buffer: sym!("gss_release_buffer"),
        release_name: sym!("gss_release_name"),
        delete_context: sym!("gss_delete_sec_context"),
        register_acceptor: sym!("krb5_gss_register_acceptor_identity"),
        ccache_name: sym!("gss_krb5_ccache_name"),
        _lib: lib,
    })
}

/// GSSAPI's own words for a failure: the major status, then the mech's.
fn why(api: &Api, major: OmUint32, minor: OmUint32) -> String {
    let mut out = Vec::new();
    for (code, kind) in [(major, GSS_CODE), (minor, MECH_CODE)] {
        if code == 0 {
            continue;
        }
        let mut ctx: OmUint32 = 0;
        loop {
            let mut m: OmUint32 = 0;
            let mut buf = Buffer::empty();
            let r = unsafe {
                (api.display_status)(&mut m, code, kind, ptr::null(), &mut ctx, &mut buf)
            };
            if r != COMPLETE {
                break;
            }
            out.push(unsafe { take(api, &mut buf) });
            if ctx == 0 {
                break;
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out.join(": ")
}

/// Copies a buffer GSSAPI allocated, and releases it.
unsafe fn take(api: &Api, buf: &mut Buffer) -> String {
    let bytes = take_bytes(api, buf);
    String::from_utf8_lossy(&bytes)
        .trim_end_matches('\0')
        .to_owned()
}

unsafe fn take_bytes(api: &Api, buf: &mut Buffer) -> Vec<u8> {
    let bytes = if buf.value.is_null() || buf.length == 0 {
        Vec::new()
    } else {
        std::slice::from_raw_parts(buf.value.cast::<u8>(), buf.length).to_vec()
    };
    let mut m = 0;
    (api.release_buffer)(&mut m, buf);
    bytes
}

/// `client_token` from the credentials in `ccache` (a computer's own
/// ticket, kept apart from the user's). GSSAPI's default cache is set per
/// thread, so a thread of its own sets it and ends with it.
pub fn client_token_from(service: &str, ccache: &Path) -> Result<Vec<u8>, KrbError> {
    let api = api()?;
    let name = CString::new(ccache.as_os_str().as_encoded_bytes())
        .map_err(|_| KrbError::Failed("bad credentials cache path".into()))?;
    let service = service.to_owned();
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                let mut minor = 0;
                let major =
                    unsafe { (api.ccache_name)(&mut minor, name.as_ptr(), ptr::null_mut()) };
                if major != COMPLETE {
                    return Err(KrbError::Failed(format!(
                        "cannot use the credentials cache: {}",
                        why(api, major, minor)
                    )));
                }
                client_token(&service)
            })
            .join()
            .unwrap_or_else(|_| Err(KrbError::Failed("the Kerberos thread failed".into())))
    })
}

pub fn client_token(service: &str) -> Result<Vec<u8>, KrbError> {
    let api = api()?;
    let hostbased = Oid {
        length: HOSTBASED.len() as OmUint32,
        elements: HOSTBASED.as_ptr().cast(),
    };
    let spnego = Oid {
        length: SPNEGO.len() as OmUint32,
        elements: SPNEGO.as_ptr().cast(),
    };
    let mut minor = 0;
    let mut name: GssName = ptr::null_mut();
    let mut name_buf = Buffer::borrowed(service.as_bytes());
    let major = unsafe { (api.import_name)(&mut minor, &mut name_buf, &hostbased, &mut name) };
    if major != COMPLETE {
        return Err(KrbError::Failed(format!(
            "bad service name '{service}': {}",
            why(api, major, minor)
        )));
    }
    let mut ctx: GssCtx = ptr::null_mut();
    let mut out = Buffer::empty();
    let (mut flags, mut time) = (0, 0);
    let major = unsafe {
        (api.init)(
            &mut minor,
            ptr::null_mut(),
            &mut ctx,
            name,
            &spnego,
            REQ_FLAGS,
            0,
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            &mut out,
            &mut flags,
            &mut time,
        )
    };
    let token = unsafe { take_bytes(api, &mut out) };
    let reason = why(api, major, minor);
    unsafe {
        let mut m = 0;
        (api.release_name)(&mut m, &mut name);
        if !ctx.is_null() {
            (api.delete_context)(&mut m, &mut ctx, ptr::null_mut());
        }
    }
    // CONTINUE_NEEDED (1) is normal for SPNEGO: the token is ready.
    if major & 0xffff_0000 != 0 || token.is_empty() {
        return Err(KrbError::Failed(format!(
            "no ticket for {service}: {reason}"
        )));
    }
    Ok(token)
}

pub fn accept(token: &[u8], keytab: Option<&Path>) -> Result<String, KrbError> {
    let api = api()?;
    if let Some(kt) = keytab {
        let path = CString::new(kt.display().to_string())
            .map_err(|_| KrbError::Failed("the keytab path holds a NUL".into()))?;
        // Process-wide in MIT Kerberos; the server has one keytab.
        let major = unsafe { (api.register_acceptor)(path.as_ptr()) };
        if major != COMPLETE {
            return Err(KrbError::Failed(format!(
                "cannot use the keytab {}",
                kt.display()
            )));
        }
    }
    let mut minor = 0;
    let mut ctx: GssCtx = ptr::null_mut();
    let mut input = Buffer::borrowed(token);
    let mut src: GssName = ptr::null_mut();
    let mut out = Buffer::empty();
    let (mut flags, mut time) = (0, 0);
    let major = unsafe {
        (api.accept)(
            &mut minor,
            &mut ctx,
            ptr::null_mut(),
            &mut input,
            ptr::null_mut(),
            &mut src,
            ptr::null_mut(),
            &mut out,
            &mut flags,
            &mut time,
            ptr::null_mut(),
        )
    };
    let _reply = unsafe { take_bytes(api, &mut out) };
    let result = if major == COMPLETE {
        let mut buf = Buffer::empty();
        let mut m = 0;
        let r = unsafe { (api.display_name)(&mut m, src, &mut buf, ptr::null_mut()) };
        if r == COMPLETE {
            Ok(unsafe { take(api, &mut buf) })
        } else {
            Err(KrbError::Failed(why(api, r, m)))
        }
    } else {
        Err(KrbError::Failed(why(api, major, minor)))
    };
    unsafe {
        let mut m = 0;
        if !src.is_null() {
            (api.release_name)(&mut m, &mut src);
        }
        if !ctx.is_null() {
            (api.delete_context)(&mut m, &mut ctx, ptr::null_mut());
        }
    }
    result
}

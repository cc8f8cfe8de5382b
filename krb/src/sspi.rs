//! The client's side on Windows: SSPI's `Negotiate` package makes the
//! SPNEGO token from the logged-on user's domain logon, with no ticket
//! cache to find and no password asked.
#![allow(unsafe_code)]

use std::ptr;

use windows_sys::Win32::Foundation::{
    SEC_E_NO_AUTHENTICATING_AUTHORITY, SEC_E_NO_CREDENTIALS, SEC_E_OK, SEC_E_TARGET_UNKNOWN,
    SEC_I_CONTINUE_NEEDED,
};
use windows_sys::Win32::Security::Authentication::Identity::{
    AcquireCredentialsHandleW, DeleteSecurityContext, FreeContextBuffer, FreeCredentialsHandle,
    InitializeSecurityContextW, QuerySecurityPackageInfoW, SecBuffer, SecBufferDesc, SecPkgInfoW,
    SECBUFFER_TOKEN, SECBUFFER_VERSION, SECPKG_CRED_OUTBOUND, SECURITY_NATIVE_DREP,
};
use windows_sys::Win32::Security::Credentials::SecHandle;

use crate::KrbError;

fn wide(s: &str) -> Vec<u16> {
    s.encode_utf16().chain(std::iter::once(0)).collect()
}

/// Why SSPI said no, in the words an administrator acts on.
fn reason(status: i32, spn: &str) -> KrbError {
    let why = match status {
        SEC_E_NO_CREDENTIALS => "no Kerberos credentials: is a domain user logged on?".to_owned(),
        SEC_E_TARGET_UNKNOWN => format!(
            "the domain does not know {spn}: register it with setspn on the server's account"
        ),
        SEC_E_NO_AUTHENTICATING_AUTHORITY => "no domain controller answered".to_owned(),
        other => format!("SSPI error {:#010x}", other as u32),
    };
    KrbError::Failed(format!("no ticket for {spn}: {why}"))
}

/// The package's largest token; Windows' default for Kerberos, 48,000
/// bytes, can be raised to 65,535 for users in very many groups.
fn max_token(package: &[u16]) -> usize {
    let mut info: *mut SecPkgInfoW = ptr::null_mut();
    // SAFETY: `package` is NUL-terminated; SSPI allocates `info`, freed
    // below.
    let status = unsafe { QuerySecurityPackageInfoW(package.as_ptr(), &mut info) };
    if status != SEC_E_OK || info.is_null() {
        return 65_535;
    }
    // SAFETY: SSPI filled `info` in.
    let max = unsafe { (*info).cbMaxToken };
    // SAFETY: allocated by SSPI for us.
    unsafe { FreeContextBuffer(info.cast()) };
    (max as usize).max(12_000)
}

/// A handle SSPI gave, freed on every way out.
struct Held<F: Fn(&SecHandle)>(SecHandle, F);

impl<F: Fn(&SecHandle)> Drop for Held<F> {
    fn drop(&mut self) {
        (self.1)(&self.0);
    }
}

pub(crate) fn client_token(service: &str) -> Result<Vec<u8>, KrbError> {
    let spn = crate::spn_of(service);
    let package = wide("Negotiate");
    let target = wide(&spn);
    let mut cred = SecHandle::default();
    let mut expiry = 0i64;
    // SAFETY: the strings are NUL-terminated and outlive the call; the out
    // pointers are valid locals.
    let status = unsafe {
        AcquireCredentialsHandleW(
            ptr::null(),
            package.as_ptr(),
            SECPKG_CRED_OUTBOUND,
            ptr::null(),
            ptr::null(),
            None,
            ptr::null(),
            &mut cred,
            &mut expiry,
        )
    };
    if status != SEC_E_OK {
        return Err(reason(status, &spn));
    }
    let cred = Held(cred, |h: &SecHandle| {
        // SAFETY: a handle AcquireCredentialsHandleW filled in.
        unsafe { FreeCredentialsHandle(h) };
    });

    // Our own buffer, of the package's largest token: not every SSPI (wine's
    // Kerberos, for one) allocates it for the caller.
    let mut token = vec![0u8; max_token(&package)];
    let mut out_buf = SecBuffer {
        cbBuffer: u32::try_from(token.len()).unwrap_or(u32::MAX),
        BufferType: SECBUFFER_TOKEN,
        pvBuffer: token.as_mut_ptr().cast(),
    };
    let mut out = SecBufferDesc {
        ulVersion: SECBUFFER_VERSION,
        cBuffers: 1,
        pBuffers: &mut out_buf,
    };
    let mut ctx = SecHandle::default();
    let mut attrs = 0u32;
    // SAFETY: as above; the output buffer is `token`, of cbBuffer bytes.
    let status = unsafe {
        InitializeSecurityContextW(
            &cred.0,
            ptr::null(),
            target.as_ptr(),
            0,
            0,
            SECURITY_NATIVE_DREP,
            ptr::null(),
            0,
            &mut ctx,
            &mut out,
            &mut attrs,
            &mut expiry,
        )
    };
    if status != SEC_E_OK && status != SEC_I_CONTINUE_NEEDED {
        return Err(reason(status, &spn));
    }
    let _ctx = Held(ctx, |h: &SecHandle| {
        // SAFETY: a context InitializeSecurityContextW made.
        unsafe { DeleteSecurityContext(h) };
    });
    token.truncate(out_buf.cbBuffer as usize);
    if token.is_empty() {
        return Err(KrbError::Failed(format!("no token for {spn}")));
    }
    // Without a ticket Negotiate falls back to NTLM, which the server
    // cannot check; say why here rather than as a refusal there.
    if crate::is_ntlm(&token) {
        return Err(KrbError::Failed(format!(
            "no Kerberos ticket for {spn}: Windows offered NTLM (is this computer in the domain, and {spn} registered with setspn?)"
        )));
    }
    Ok(token)
}

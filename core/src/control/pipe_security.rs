//! Who may open the control pipe on Windows: only the user the agent runs
//! as. The pipe gets an explicit, protected DACL with one entry for that
//! user's SID, instead of the default one, which lets administrators,
//! SYSTEM and (for some tokens) everyone in.
// Win32 has no safe binding here: each call is FFI on a token or buffer
// this module owns, freed on every path (Drop or right after use).
#![allow(unsafe_code)]

use std::ffi::c_void;

use windows_sys::Win32::Foundation::{CloseHandle, LocalFree, HANDLE};
use windows_sys::Win32::Security::Authorization::{
    ConvertSidToStringSidW, ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
};
use windows_sys::Win32::Security::{
    GetTokenInformation, TokenUser, PSECURITY_DESCRIPTOR, SECURITY_ATTRIBUTES, TOKEN_QUERY,
    TOKEN_USER,
};
use windows_sys::Win32::System::Threading::{GetCurrentProcess, OpenProcessToken};

use super::owner_only_sddl;

/// A security descriptor that admits only the current user, with the
/// attributes that point at it.
pub struct OwnerOnly {
    descriptor: PSECURITY_DESCRIPTOR,
    attributes: SECURITY_ATTRIBUTES,
}

// The descriptor is an immutable heap block owned by this value alone.
unsafe impl Send for OwnerOnly {}
unsafe impl Sync for OwnerOnly {}

impl OwnerOnly {
    pub fn new() -> std::io::Result<Box<OwnerOnly>> {
        let sddl: Vec<u16> = owner_only_sddl(&current_user_sid()?)
            .encode_utf16()
            .chain(Some(0))
            .collect();
        let mut descriptor: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
        let ok = unsafe {
            ConvertStringSecurityDescriptorToSecurityDescriptorW(
                sddl.as_ptr(),
                SDDL_REVISION_1,
                &mut descriptor,
                std::ptr::null_mut(),
            )
        };
        if ok == 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut me = Box::new(OwnerOnly {
            descriptor,
            attributes: SECURITY_ATTRIBUTES {
                nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
                lpSecurityDescriptor: descriptor,
                bInheritHandle: 0,
            },
        });
        me.attributes.lpSecurityDescriptor = me.descriptor;
        Ok(me)
    }

    /// For `CreateNamedPipeW`; valid while `self` lives (it is boxed, so
    /// the address does not move).
    pub fn as_ptr(&self) -> *mut c_void {
        (&raw const self.attributes).cast_mut().cast()
    }
}

impl Drop for OwnerOnly {
    fn drop(&mut self) {
        unsafe {
            LocalFree(self.descriptor);
        }
    }
}

/// The SID of the user this process runs as, as `S-1-5-21-…`.
pub fn current_user_sid() -> std::io::Result<String> {
    unsafe {
        let mut token: HANDLE = std::ptr::null_mut();
        if OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &mut token) == 0 {
            return Err(std::io::Error::last_os_error());
        }
        let result = token_user_sid(token);
        CloseHandle(token);
        result
    }
}

unsafe fn token_user_sid(token: HANDLE) -> std::io::Result<String> {
    let mut len = 0u32;
    GetTokenInformation(token, TokenUser, std::ptr::null_mut(), 0, &mut len);
    if len == 0 {
        return Err(std::io::Error::last_os_error());
    }
    // u64 elements: TOKEN_USER wants pointer alignment.
    let mut buf = vec![0u64; (len as usize).div_ceil(8)];
    if GetTokenInformation(token, TokenUser, buf.as_mut_ptr().cast(), len, &mut len) == 0 {
        return Err(std::io::Error::last_os_error());
    }
    let user = &*(buf.as_ptr().cast::<TOKEN_USER>());
    let mut text: *mut u16 = std::ptr::null_mut();
    if ConvertSidToStringSidW(user.User.Sid, &mut text) == 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut n = 0;
    while *text.add(n) != 0 {
        n += 1;
    }
    let sid = String::from_utf16_lossy(std::slice::from_raw_parts(text, n));
    LocalFree(text.cast());
    Ok(sid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use windows_sys::Win32::Security::Authorization::{
        ConvertSecurityDescriptorToStringSecurityDescriptorW, GetSecurityInfo, SE_KERNEL_OBJECT,
    };
    use windows_sys::Win32::Security::DACL_SECURITY_INFORMATION;

    /// The pipe the agent makes really carries the one-entry DACL: read it
    /// back from the kernel object.
    #[test]
    fn the_pipe_admits_only_its_user() {
        let sid = current_user_sid().unwrap();
        assert!(sid.starts_with("S-1-"), "{sid}");
        let sa = OwnerOnly::new().unwrap();
        let name = format!(r"\\.\pipe\herald-test-{}", std::process::id());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let pipe = unsafe {
            tokio::net::windows::named_pipe::ServerOptions::new()
                .first_pipe_instance(true)
                .reject_remote_clients(true)
                .create_with_security_attributes_raw(&name, sa.as_ptr())
                .unwrap()
        };
        let text = unsafe {
            use std::os::windows::io::AsRawHandle;
            let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
            let rc = GetSecurityInfo(
                pipe.as_raw_handle(),
                SE_KERNEL_OBJECT,
                DACL_SECURITY_INFORMATION,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                &mut sd,
            );
            assert_eq!(rc, 0, "GetSecurityInfo failed");
            let mut s: *mut u16 = std::ptr::null_mut();
            let ok = ConvertSecurityDescriptorToStringSecurityDescriptorW(
                sd,
                SDDL_REVISION_1,
                DACL_SECURITY_INFORMATION,
                &mut s,
                std::ptr::null_mut(),
            );
            assert_ne!(ok, 0);
            let mut n = 0;
            while *s.add(n) != 0 {
                n += 1;
            }
            let t = String::from_utf16_lossy(std::slice::from_raw_parts(s, n));
            LocalFree(s.cast());
            LocalFree(sd);
            t
        };
        // One allow entry, for this user; protected from inheritance.
        assert!(text.starts_with("D:P"), "{text}");
        assert_eq!(text.matches("(A;").count(), 1, "{text}");
        assert!(text.contains(&sid), "{text}");
        // A second first instance under the same name is refused: nobody
        // can squat the name once the agent holds it. Wine 8 ignores
        // FILE_FLAG_FIRST_PIPE_INSTANCE, so only Windows can show it.
        let again = tokio::net::windows::named_pipe::ServerOptions::new()
            .first_pipe_instance(true)
            .create(&name);
        if !under_wine() {
            assert!(again.is_err());
        }
        drop(pipe);
    }

    fn under_wine() -> bool {
        use windows_sys::Win32::System::LibraryLoader::{GetModuleHandleW, GetProcAddress};
        let ntdll: Vec<u16> = "ntdll.dll".encode_utf16().chain(Some(0)).collect();
        unsafe {
            let module = GetModuleHandleW(ntdll.as_ptr());
            !module.is_null()
                && GetProcAddress(module, c"wine_get_version".as_ptr().cast()).is_some()
        }
    }
}

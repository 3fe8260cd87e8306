//! The resident renderer's wire format: what `kiln argocd` sends `kiln serve` over a Unix
//! socket, and what comes back. One request and one response per connection.
//!
//! - **Request**: the magic `KILN`, a little-endian `u32` length, and that many bytes of a
//!   JSON [`Request`]: Argo CD's environment, the app directory, and the client's
//!   [`identity`]. The repository's root directory travels beside the first byte as an
//!   open descriptor (`SCM_RIGHTS`): the server reads the repository through it, confined
//!   as the client itself would be, and never by a path.
//! - **Response**: `KILN`, a `u32` length and a JSON [`ResponseHead`] (warnings, or the
//!   error, or why the request was refused), then a `u64` length and stdout's bytes, raw.
//!
//! Sizes are bounded on both sides ([`MAX_REQUEST_BYTES`], [`MAX_RESPONSE_BYTES`]): a peer
//! that sends more, or less than it announced, gets an error and nothing is rendered or
//! printed from it.

use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;

use anyhow::{Context, Result, bail};
use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::args::Flags;

const MAGIC: &[u8; 4] = b"KILN";

/// The largest request a server reads: Argo CD's environment is at most a few hundred KiB
/// (Linux caps one variable at 128 KiB).
pub const MAX_REQUEST_BYTES: u32 = 4 << 20;

/// The largest response a client reads: stdout of the largest application Kiln renders
/// (1,000 components are ~6 MiB of JSON) with ample room.
pub const MAX_RESPONSE_BYTES: u64 = 1 << 30;

/// What `kiln argocd` asks of the server.
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    /// The client's [`identity`]: a server configured otherwise refuses the request.
    pub identity: String,
    /// `generate` or `parameters`.
    pub command: String,
    /// The Argo CD variables of the client's environment (`ARGOCD_*`, `KUBE_*`).
    pub vars: Vec<(String, String)>,
    /// The app directory, relative to the repository root the descriptor is open on.
    pub app_dir: String,
}

/// The first part of the server's answer; stdout follows it, raw.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ResponseHead {
    /// Printed on stderr, one per line, before stdout.
    pub warnings: Vec<String>,
    /// The render failed with this message (`error: ` is the client's to add).
    pub error: Option<String>,
    /// The server did not take the request (another configuration, overloaded): the client
    /// renders it itself.
    pub refused: Option<String>,
}

/// What makes two Kiln processes render the same request to the same bytes, besides the
/// request: the build (version and standard library), the platform file's bytes and the
/// flags that choose definitions and limits. A client and a server agree on a request
/// only when their identities are equal.
pub fn identity(flags: &Flags) -> Result<String> {
    let mut hash = Sha256::new();
    let mut field = |name: &str, value: &[u8]| {
        hash.update((name.len() as u64).to_le_bytes());
        hash.update(name.as_bytes());
        hash.update((value.len() as u64).to_le_bytes());
        hash.update(value);
    };
    field("version", env!("CARGO_PKG_VERSION").as_bytes());
    field("library", &kiln::definitions::LIBRARY.digest);
    if let Some(path) = &flags.platform {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading the platform configuration {}", path.display()))?;
        field("platform", &bytes);
    }
    for dir in &flags.definitions {
        field("definitions", dir.as_os_str().as_encoded_bytes());
    }
    if let Some(store) = &flags.store {
        field("store", store.as_os_str().as_encoded_bytes());
    }
    let limits = format!(
        "{} {:?} {:?} {:?}",
        flags.override_builtins, flags.time_limit_ms, flags.memory_limit_mib, flags.fuel
    );
    field("limits", limits.as_bytes());
    Ok(kiln::digest::hex(&hash.finalize()))
}

/// Sends `request`, with `repository` (the open root directory) beside its first byte.
pub fn send_request(
    stream: &mut UnixStream,
    request: &Request,
    repository: impl AsFd,
) -> Result<()> {
    let body = serde_json::to_vec(request).context("encoding the request")?;
    let length = u32::try_from(body.len())
        .ok()
        .filter(|&n| n <= MAX_REQUEST_BYTES)
        .context("the request is too large")?;
    let mut head = [0u8; 8];
    head[..4].copy_from_slice(MAGIC);
    head[4..].copy_from_slice(&length.to_le_bytes());

    let fds = [repository.as_fd()];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        bail!("no room for the repository descriptor");
    }
    // The descriptor goes with the first byte that is sent; whatever the kernel did not
    // take in this call follows as plain bytes.
    let sent = rustix::net::sendmsg(
        &*stream,
        &[IoSlice::new(&head)],
        &mut control,
        SendFlags::NOSIGNAL,
    )?;
    stream.write_all(&head[sent..])?;
    stream.write_all(&body)?;
    Ok(())
}

/// Reads a request and the descriptor that came with it. Refuses a request without
/// exactly one descriptor, with the wrong magic, or larger than [`MAX_REQUEST_BYTES`].
pub fn receive_request(stream: &mut UnixStream) -> Result<(Request, OwnedFd)> {
    let mut head = [0u8; 8];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(2))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let received = rustix::net::recvmsg(
        &*stream,
        &mut [IoSliceMut::new(&mut head)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    // Every descriptor received is owned (and closed on drop), even those refused below.
    let mut fds: Vec<OwnedFd> = Vec::new();
    for message in control.drain() {
        if let RecvAncillaryMessage::ScmRights(received) = message {
            fds.extend(received);
        }
    }
    if received.flags.contains(ReturnFlags::CTRUNC) {
        bail!("the request carried more descriptors than one");
    }
    if received.bytes == 0 {
        bail!("the client closed the connection before sending a request");
    }
    stream.read_exact(&mut head[received.bytes..])?;
    let request: Request = read_json(stream, &head, "request")?;
    let [fd] = <[OwnedFd; 1]>::try_from(fds).map_err(|fds| {
        anyhow::anyhow!(
            "the request carried {} descriptors; it must carry one, the repository's",
            fds.len()
        )
    })?;
    Ok((request, fd))
}

/// The JSON body that `head` (the magic and the body's length) announces, read from
/// `stream`: refused before it is read when the magic is wrong or it is larger than
/// [`MAX_REQUEST_BYTES`].
fn read_json<T: serde::de::DeserializeOwned>(
    stream: &mut UnixStream,
    head: &[u8; 8],
    what: &str,
) -> Result<T> {
    if &head[..4] != MAGIC {
        bail!("not a Kiln {what}");
    }
    let length = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if length > MAX_REQUEST_BYTES {
        bail!("the {what} announces {length} bytes; the limit is {MAX_REQUEST_BYTES}");
    }
    let mut body = vec![0u8; length as usize];
    stream.read_exact(&mut body)?;
    serde_json::from_slice(&body).with_context(|| format!("decoding the {what}"))
}

/// Sends a response: `head`, then `stdout`.
pub fn send_response(stream: &mut UnixStream, head: &ResponseHead, stdout: &[u8]) -> Result<()> {
    let head = serde_json::to_vec(head).context("encoding the response")?;
    let length = u32::try_from(head.len()).context("the response is too large")?;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, stream);
    out.write_all(MAGIC)?;
    out.write_all(&length.to_le_bytes())?;
    out.write_all(&head)?;
    out.write_all(&(stdout.len() as u64).to_le_bytes())?;
    out.write_all(stdout)?;
    out.flush()?;
    Ok(())
}

/// Reads a whole response: nothing of it is used unless all of it arrived.
pub fn receive_response(stream: &mut UnixStream) -> Result<(ResponseHead, Vec<u8>)> {
    let mut head = [0u8; 8];
    stream.read_exact(&mut head)?;
    let head: ResponseHead = read_json(stream, &head, "response")?;
    let mut size = [0u8; 8];
    stream.read_exact(&mut size)?;
    let size = u64::from_le_bytes(size);
    if size > MAX_RESPONSE_BYTES {
        bail!("the response announces {size} bytes of output; the limit is {MAX_RESPONSE_BYTES}");
    }
    // Sized once (growing by doubling re-faults the pages of every copy), but not on the
    // word of the peer alone beyond what a render of 1,000 components prints.
    let mut stdout = Vec::with_capacity(size.min(64 << 20) as usize);
    stream.take(size).read_to_end(&mut stdout)?;
    if stdout.len() as u64 != size {
        bail!(
            "the response ended after {} of {size} bytes of output",
            stdout.len()
        );
    }
    Ok((head, stdout))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            identity: "id".into(),
            command: "generate".into(),
            vars: vec![("ARGOCD_APP_NAME".into(), "shop".into())],
            app_dir: "apps/shop".into(),
        }
    }

    #[test]
    fn a_request_arrives_with_the_descriptor_it_was_sent_with() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("marker"), "here").unwrap();
        let (mut client, mut server) = UnixStream::pair().unwrap();
        let root = std::fs::File::open(dir.path()).unwrap();
        send_request(&mut client, &request(), &root).unwrap();
        let (received, fd) = receive_request(&mut server).unwrap();
        assert_eq!(received.app_dir, "apps/shop");
        assert_eq!(received.vars, request().vars);
        // The descriptor is the directory: a file in it reads through it.
        let repo = kiln::argocd::Repository::from_file(std::fs::File::from(fd)).unwrap();
        let text = repo
            .read_app(std::path::Path::new(""), Some("marker"))
            .unwrap();
        assert_eq!(text.text, "here");
    }

    #[test]
    fn a_request_without_a_descriptor_is_refused() {
        let (mut client, mut server) = UnixStream::pair().unwrap();
        let body = serde_json::to_vec(&request()).unwrap();
        client.write_all(MAGIC).unwrap();
        client
            .write_all(&(body.len() as u32).to_le_bytes())
            .unwrap();
        client.write_all(&body).unwrap();
        let error = receive_request(&mut server).unwrap_err().to_string();
        assert!(error.contains("carried 0 descriptors"), "{error}");
    }

    #[test]
    fn an_oversized_or_foreign_request_is_refused_before_its_body_is_read() {
        let (mut client, mut server) = UnixStream::pair().unwrap();
        client.write_all(MAGIC).unwrap();
        client
            .write_all(&(MAX_REQUEST_BYTES + 1).to_le_bytes())
            .unwrap();
        let error = receive_request(&mut server).unwrap_err().to_string();
        assert!(error.contains("the limit is"), "{error}");

        let (mut client, mut server) = UnixStream::pair().unwrap();
        client.write_all(b"GET / HTTP/1.1\r\n").unwrap();
        let error = receive_request(&mut server).unwrap_err().to_string();
        assert_eq!(error, "not a Kiln request");
    }

    #[test]
    fn a_truncated_response_is_an_error_not_a_shorter_output() {
        let (mut server, mut client) = UnixStream::pair().unwrap();
        let mut whole = Vec::new();
        {
            let (mut a, mut b) = UnixStream::pair().unwrap();
            send_response(&mut a, &ResponseHead::default(), b"0123456789").unwrap();
            drop(a);
            b.read_to_end(&mut whole).unwrap();
        }
        server.write_all(&whole[..whole.len() - 3]).unwrap();
        drop(server);
        let error = receive_response(&mut client).unwrap_err().to_string();
        assert!(error.contains("ended after 7 of 10 bytes"), "{error}");
    }

    #[test]
    fn a_response_reads_back_whole() {
        let (mut server, mut client) = UnixStream::pair().unwrap();
        let head = ResponseHead {
            warnings: vec!["warning: w".into()],
            ..ResponseHead::default()
        };
        send_response(&mut server, &head, b"{\"kind\":\"Service\"}\n").unwrap();
        let (head, stdout) = receive_response(&mut client).unwrap();
        assert_eq!(head.warnings, ["warning: w"]);
        assert_eq!(stdout, b"{\"kind\":\"Service\"}\n");
    }
}

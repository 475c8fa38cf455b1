//! JSON bodies for the errors hyper answers by itself, before a request
//! reaches the router (a malformed head, a duplicate Content-Length, an
//! unsupported version, a URI or header block too large): hyper writes
//! those as a bare head with `content-length: 0`. This wraps a
//! connection's socket and rewrites exactly such a head into the same
//! status with `{"error": "..."}`, so every error the server sends is JSON.
//!
//! The fingerprint (an error status, `connection: close`, `content-length: 0`,
//! nothing after the head) never matches the app's own errors: those always
//! carry a JSON body (`routes::json_errors`).

use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub struct JsonErrorsIo<T> {
    inner: T,
    /// A rewritten error response not yet fully written, and how much of it was.
    pending: Option<(Vec<u8>, usize)>,
}

impl<T> JsonErrorsIo<T> {
    pub fn new(inner: T) -> JsonErrorsIo<T> {
        JsonErrorsIo { inner, pending: None }
    }
}

impl<T: AsyncWrite + Unpin> JsonErrorsIo<T> {
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            if *written == bytes.len() {
                self.pending = None;
                break;
            }
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

/// The JSON response for a bare error head hyper wrote, if `buf` is one.
fn rewrite(buf: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(buf).ok()?;
    let head = text.strip_suffix("\r\n\r\n")?;
    if head.contains("\r\n\r\n") || !(text.starts_with("HTTP/1.1 ") || text.starts_with("HTTP/1.0 ")) {
        return None;
    }
    let (status_line, headers) = head.split_once("\r\n")?;
    let status: u16 = status_line.get(9..12)?.parse().ok()?;
    let lower = headers.to_ascii_lowercase();
    let fields: Vec<&str> = lower.split("\r\n").collect();
    if status < 400 || !fields.contains(&"content-length: 0") || !fields.contains(&"connection: close") {
        return None;
    }
    let reason = match status {
        400 => "the request is not valid HTTP/1 (its line, a header or its framing, such as Content-Length)",
        408 => "the request head did not arrive in time (--header-timeout-secs)",
        413 => "the request is too large",
        414 => "the request URI is too long",
        431 => "the request headers are too large or too many",
        505 => "the HTTP version is not supported; use HTTP/1.1 or HTTP/2",
        _ => "the request was refused before it reached the judge",
    };
    let body = serde_json::json!({ "error": reason }).to_string();
    let kept: Vec<&str> = headers.split("\r\n").filter(|h| !h.to_ascii_lowercase().starts_with("content-")).collect();
    let mut response = format!("{status_line}\r\n");
    for header in kept {
        response.push_str(header);
        response.push_str("\r\n");
    }
    response.push_str(&format!("content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len()));
    Some(response.into_bytes())
}

impl<T: AsyncRead + Unpin> AsyncRead for JsonErrorsIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for JsonErrorsIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.drain(cx))?;
        if let Some(replacement) = rewrite(buf) {
            self.pending = Some((replacement, 0));
            // Taken whole; the rest goes out on the next write, flush or shutdown.
            let _ = self.drain(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn a_bare_error_head_becomes_json() {
        let head = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let rewritten = String::from_utf8(rewrite(head).unwrap()).unwrap();
        let (head, body) = rewritten.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{head}");
        assert!(head.contains("content-type: application/json"), "{head}");
        assert!(head.contains(&format!("content-length: {}", body.len())), "{head}");
        let json: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(json["error"].as_str().unwrap().contains("not valid HTTP"));
    }

    #[test]
    fn other_writes_pass_untouched() {
        let ok = b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 0\r\n\r\n";
        let with_body = b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n{}";
        let kept_alive = b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n";
        for write in [&ok[..], &with_body[..], &kept_alive[..], b"{\"error\":\"x\"}"] {
            assert!(rewrite(write).is_none(), "{}", String::from_utf8_lossy(write));
        }
    }
}

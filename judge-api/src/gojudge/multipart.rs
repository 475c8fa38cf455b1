//! Just enough of `multipart/form-data` (RFC 7578) for `POST /file`: the
//! bytes and file name of one field. The body is already bounded in size.

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MultipartError {
    #[error("POST /file wants Content-Type multipart/form-data with a boundary, got {0:?}")]
    NotMultipart(String),
    #[error("the multipart body is malformed: {0}")]
    Malformed(&'static str),
    #[error("the multipart form has no field named {0:?}")]
    NoField(String),
}

/// The file name (or the field name when none is given) and the bytes of
/// field `field`.
pub fn file_field(content_type: &str, body: &[u8], field: &str) -> Result<(String, Vec<u8>), MultipartError> {
    let boundary = boundary(content_type).ok_or_else(|| MultipartError::NotMultipart(content_type.to_string()))?;
    let delimiter = [b"\r\n--", boundary.as_bytes()].concat();
    // A leading CRLF makes the first boundary look like every later one.
    let body = [b"\r\n".as_slice(), body].concat();
    let mut at = find(&body, &delimiter, 0).ok_or(MultipartError::Malformed("no boundary"))? + delimiter.len();
    loop {
        if body[at..].starts_with(b"--") {
            return Err(MultipartError::NoField(field.to_string()));
        }
        let line_end = find(&body, b"\r\n", at).ok_or(MultipartError::Malformed("boundary line without CRLF"))?;
        let headers_end =
            find(&body, b"\r\n\r\n", line_end).ok_or(MultipartError::Malformed("part headers without an end"))?;
        let content_start = headers_end + 4;
        let content_end =
            find(&body, &delimiter, headers_end).ok_or(MultipartError::Malformed("part without a closing boundary"))?;
        let headers = String::from_utf8_lossy(&body[line_end + 2..headers_end]);
        if let Some((name, filename)) = disposition(&headers) {
            if name == field {
                let content = body.get(content_start..content_end).unwrap_or_default().to_vec();
                return Ok((filename.unwrap_or(name), content));
            }
        }
        at = content_end + delimiter.len();
    }
}

fn boundary(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';');
    if !parts.next()?.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    let value = parts.find_map(|p| {
        let (key, value) = p.trim().split_once('=')?;
        key.trim().eq_ignore_ascii_case("boundary").then(|| value.trim().trim_matches('"').to_string())
    })?;
    (!value.is_empty() && value.len() <= 200).then_some(value)
}

/// `name` and `filename` of a part's Content-Disposition header.
fn disposition(headers: &str) -> Option<(String, Option<String>)> {
    let line = headers.lines().find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))?;
    let mut name = None;
    let mut filename = None;
    for param in line.split(';').skip(1) {
        if let Some((key, value)) = param.trim().split_once('=') {
            let value = value.trim().trim_matches('"').to_string();
            match key.trim().to_ascii_lowercase().as_str() {
                "name" => name = Some(value),
                "filename" => filename = Some(value),
                _ => {}
            }
        }
    }
    Some((name?, filename.filter(|f| !f.is_empty())))
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    haystack.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_file_field() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nignored\r\n\
            --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.out\"\r\n\
            Content-Type: application/octet-stream\r\n\r\n\x00bin\r\nary\r\n--XyZ--\r\n";
        let (name, data) = file_field("multipart/form-data; boundary=XyZ", body, "file").unwrap();
        assert_eq!(name, "a.out");
        assert_eq!(data, b"\x00bin\r\nary");
        assert_eq!(
            file_field("multipart/form-data; boundary=XyZ", body, "nope").unwrap_err(),
            MultipartError::NoField("nope".into())
        );
        assert!(matches!(file_field("application/json", body, "file"), Err(MultipartError::NotMultipart(_))));
        assert!(matches!(
            file_field("multipart/form-data; boundary=XyZ", b"garbage", "file"),
            Err(MultipartError::Malformed(_))
        ));
        let truncated = &body[..body.len() - 30];
        assert!(file_field("multipart/form-data; boundary=\"XyZ\"", truncated, "file").is_err());
    }
}

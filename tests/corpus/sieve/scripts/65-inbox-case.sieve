# RFC 3501 §5.1: INBOX is case-insensitive, so fileinto "inbox" is the same delivery as keep.
require ["fileinto", "imap4flags"];
fileinto "inbox";
keep :flags "\\Seen";
fileinto :flags "\\Flagged" "Sub.Folder";

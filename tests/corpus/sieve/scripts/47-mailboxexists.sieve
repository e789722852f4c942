# RFC 5490 §3.1: mailboxexists (the test account has INBOX, Lists and Archive).
require ["mailbox", "fileinto"];
if mailboxexists ["Lists", "Archive"] {
  if exists "list-id" {
    fileinto "Lists";
  }
}
if mailboxexists "Nonexistent" {
  discard;
}
if not mailboxexists ["INBOX", "Missing"] {
  fileinto "SomeMissing";
}

# RFC 5228 §5.1 and §2.7.4: address test with :all, :localpart, :domain over several headers.
require "fileinto";
if address :is :all ["to", "cc"] "bob@example.net" {
  fileinto "Direct";
}
if address :is :domain "from" "EXAMPLE.COM" {
  fileinto "DomainCom";
}
if address :contains :localpart ["from", "reply-to"] "repl" {
  fileinto "ReplyTo";
}
if address :is :all "from" "" {
  fileinto "EmptyFrom";
}

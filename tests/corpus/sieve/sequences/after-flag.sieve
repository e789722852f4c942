# A sieve_after script: runs only when the message is still kept.
require ["imap4flags", "copy"];
addflag "after";
redirect :copy "archive@example.org";

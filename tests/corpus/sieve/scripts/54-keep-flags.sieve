# RFC 5232 §5: keep :flags and fileinto :flags, with the internal variable left as is.
require ["imap4flags", "fileinto", "copy"];
addflag "internal";
keep :flags ["\\Seen", "kept"];
fileinto :copy "Copy";
fileinto :copy :flags "\\Draft" "CopyDraft";

# Invalid: ${unicode:} beyond U+10FFFF is an error (RFC 5228 §2.4.2.4).
require ["encoded-character", "fileinto"];
fileinto "${unicode:110000}";

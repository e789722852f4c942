# Invalid: :create needs require "mailbox" (RFC 5490 §3.2).
require "fileinto";
fileinto :create "Folder";

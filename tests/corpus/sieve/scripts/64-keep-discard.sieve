# RFC 5228 §4.4: discard only cancels the implicit keep; an explicit keep still delivers.
require "copy";
keep;
discard;
redirect :copy "audit@example.org";

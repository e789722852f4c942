# RFC 5429 §2.1: ereject cannot be combined with keep; a runtime error, so implicit keep.
require "ereject";
keep;
ereject "No thanks.";

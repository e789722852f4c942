# RFC 5230 §4.7: at most one vacation per script.
require "vacation";
vacation :handle "one" "First reason.";
if true {
  vacation :handle "two" "Second reason.";
}

# RFC 5229 §4.1.1: :length counts characters. §4.1.3: the case modifiers change only the
# US-ASCII letters A-Z and a-z; every other character is left unchanged.
require ["variables", "fileinto"];
if header :matches "subject" "*" {
  set :length "len" "${1}";
  fileinto "len-${len}";
}
set :upperfirst "w" "élan";
fileinto "${w}";
set :upper "u" "straße ök";
fileinto "${u}";
set :lower "l" "ÀÉÎ AbC";
fileinto "${l}";
set "s" "${hex:}x";
fileinto "hexempty-${s}";

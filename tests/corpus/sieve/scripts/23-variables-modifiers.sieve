# RFC 5229 §4.1: set modifiers; RFC 5229 §5: string test.
require ["variables", "fileinto"];
set "name" "Mixed Case Folder";
set :lower "low" "${name}";
set :upper "up" "${name}";
set :lowerfirst "lf" "${name}";
set :upperfirst :lower "uf" "${name}";
set :length "len" "${name}";
set :quotewildcard "qw" "a*b?c\\d";
if string :is "${len}" "17" {
  fileinto "${low}.${up}";
}
if string :is "${lf}" "mixed Case Folder" {
  fileinto "${uf}";
}
if string :is "${qw}" "a\\*b\\?c\\\\d" {
  fileinto "Quoted";
}
if string :is "${undefined}" "" {
  fileinto "UndefinedEmpty";
}

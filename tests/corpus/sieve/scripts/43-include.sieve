# RFC 6609: include personal and global scripts, :once, :optional, global variables.
require ["include", "variables", "fileinto"];
global "folder";
set "folder" "Included";
include :personal "filing";
include :personal :once "filing";
include :global :optional "does-not-exist";
include :global "common";
if string :is "${folder}" "Changed" {
  fileinto "GlobalSeen";
}

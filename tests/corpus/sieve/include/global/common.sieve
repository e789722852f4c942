# Included by 43-include.sieve with :global; changes the global variable, then returns early.
require ["include", "variables", "fileinto"];
global "folder";
set "folder" "Changed";
if exists "list-id" {
  fileinto "GlobalLists";
  return;
}
fileinto "GlobalFallthrough";

# Invalid: a quoted string that never ends.
require "fileinto";
fileinto "Folder;
keep;

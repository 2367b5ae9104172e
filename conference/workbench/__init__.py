"""The workbench (工作台): each role's home page, the counts of what waits for it."""

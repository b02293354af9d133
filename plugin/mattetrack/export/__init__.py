"""Output writers: EXR mattes (`exr`), PNG mattes (`png`) and EXR channel naming (`channels`)."""

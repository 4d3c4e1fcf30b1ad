// Public surface of this library; see README.md for what it owns.
export {};

/** A flag or scenario value that cannot be used: exit 2, the flag named, the fix given. */
export class UsageError extends Error {
  constructor(
    readonly flag: string,
    problem: string,
    readonly fix: string,
  ) {
    super(`${flag} ${problem}. ${fix}`);
  }
}

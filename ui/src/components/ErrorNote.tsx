/** A failed load or action, announced to screen readers: nothing when there is no error. */
export function ErrorNote({ error, prefix }: { error: Error | null | undefined; prefix?: string }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {prefix}
      {error.message}
    </p>
  );
}

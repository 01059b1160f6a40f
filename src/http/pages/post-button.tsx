/**
 * A button that POSTs a form carrying the page's CSRF field (and any hidden
 * fields), as every state-changing button of the pages does: revoke a token,
 * end sessions.
 */
export function PostButton(props: {
  action: string;
  csrf: string;
  label: string;
  /** What a screen reader announces: the button's label alone does not say which row. */
  ariaLabel: string;
  fields?: Record<string, string>;
}) {
  return (
    <form method="post" action={props.action}>
      <input type="hidden" name="csrf" value={props.csrf} />
      {Object.entries(props.fields ?? {}).map(([name, value]) => (
        <input type="hidden" name={name} value={value} />
      ))}
      <button type="submit" class="danger" aria-label={props.ariaLabel}>
        {props.label}
      </button>
    </form>
  );
}

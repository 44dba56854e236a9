import type { ReactNode } from 'react';

/**
 * A table cell that carries its column's name, which a phone shows beside the value (`.stack-on-phone`).
 * The content sits in one block, so that it stays one grid item beside the label.
 */
export function Cell({ label, children }: { label: string; children: ReactNode }) {
  return (
    <td role="cell" data-label={label}>
      <div>{children}</div>
    </td>
  );
}

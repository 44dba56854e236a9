import { useEffect } from 'react';

/** Name the view in the browser tab (and in what screen readers announce on load). */
export function usePageTitle(title: string) {
  useEffect(() => {
    document.title = `${title} – helsegraf`;
  }, [title]);
}

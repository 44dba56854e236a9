import { useEffect, useMemo } from 'react';
import { Navigate, NavLink, Route, Routes, useLocation } from 'react-router';
import { Provider } from 'urql';
import { useAuth } from './auth';
import { createClient } from './client';
import type { AppConfig } from './config';
import { FinnFastlege } from './pages/FinnFastlege';
import { LoggOverBruk } from './pages/LoggOverBruk';
import { MinFastlege } from './pages/MinFastlege';
import { MineBarn } from './pages/MineBarn';
import { SignIn } from './pages/SignIn';

const VIEWS = [
  { path: '/min-fastlege', label: 'Min fastlege' },
  { path: '/finn-fastlege', label: 'Finn fastlege' },
  { path: '/mine-barn', label: 'Mine barn' },
  { path: '/logg-over-bruk', label: 'Logg over bruk' },
];

// Redirects while the page loads (/app/ to the sign-in page, say) are no navigation of the user's.
let interacted = false;
for (const event of ['keydown', 'pointerdown']) {
  window.addEventListener(event, () => (interacted = true), { capture: true, once: true });
}

/** Move focus to the new view's heading after a navigation, so screen readers announce the view. */
function useFocusOnNavigation() {
  const location = useLocation();
  useEffect(() => {
    if (interacted) document.querySelector<HTMLElement>('main h1')?.focus();
  }, [location.pathname]);
}

function Header() {
  const { session, signOut } = useAuth();
  return (
    <header className="site-header">
      <div className="site-header-inner">
        <p className="brand">
          helsegraf <span className="brand-sub">innbygger</span>
        </p>
        {session && (
          <button type="button" className="button-quiet" onClick={() => signOut({ kind: 'signed-out' })}>
            Logg ut
          </button>
        )}
      </div>
      {session && (
        <nav aria-label="Hovedmeny" className="site-nav">
          <ul>
            {VIEWS.map((view) => (
              <li key={view.path}>
                <NavLink to={view.path}>{view.label}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
      )}
    </header>
  );
}

function SignedIn({ config }: { config: AppConfig }) {
  const { session, signOut } = useAuth();
  const location = useLocation();
  const token = session?.token;
  const client = useMemo(
    () => (token ? createClient(config, token, (r) => signOut({ kind: 'rejected', ...r })) : null),
    [config, token, signOut],
  );
  if (!client) return <Navigate to="/logg-inn" replace state={{ from: location.pathname }} />;
  return (
    <Provider value={client}>
      <Routes>
        <Route path="/min-fastlege" element={<MinFastlege />} />
        <Route path="/finn-fastlege" element={<FinnFastlege />} />
        <Route path="/mine-barn" element={<MineBarn />} />
        <Route path="/logg-over-bruk" element={<LoggOverBruk />} />
        <Route path="*" element={<NotFound />} />
      </Routes>
    </Provider>
  );
}

function NotFound() {
  useEffect(() => {
    document.title = 'Fant ikke siden – helsegraf';
  }, []);
  return (
    <>
      <h1 tabIndex={-1}>Fant ikke siden</h1>
      <p>
        Siden finnes ikke. Gå til <NavLink to="/min-fastlege">Min fastlege</NavLink>.
      </p>
    </>
  );
}

export function App({ config }: { config: AppConfig }) {
  useFocusOnNavigation();
  return (
    <>
      <a className="skip-link" href="#innhold">
        Hopp til innholdet
      </a>
      <Header />
      <main id="innhold" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<Navigate to="/min-fastlege" replace />} />
          <Route path="/logg-inn" element={<SignIn config={config} />} />
          <Route path="*" element={<SignedIn config={config} />} />
        </Routes>
      </main>
      <footer className="site-footer">
        <p>Eksempelapp for helsegraf. Alle opplysninger er syntetiske.</p>
      </footer>
    </>
  );
}

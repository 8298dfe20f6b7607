import { lazy, Suspense } from 'react';
import { Navigate, NavLink, Route, Routes } from 'react-router';
import { useQueryClient } from '@tanstack/react-query';
import { useAuth } from './auth';
import SignInPage from './pages/signin';
import OverviewPage from './pages/overview';
import DevicesPage from './pages/devices';
import DevicePage from './pages/device';
import FaultsPage from './pages/faults';
import PresetsPage from './pages/presets';
import FilesPage from './pages/files';
import CampaignsPage from './pages/campaigns';
import AdminPage from './pages/admin';
import { ActiveAlarmsBadge } from './pages/alarms/ActiveAlarms';

/** Loaded when first opened: monitoring is not every operator's first page. */
const AlarmsPage = lazy(() => import('./pages/alarms'));

export const NAV: Array<[string, string]> = [
  ['/overview', 'Overview'],
  ['/devices', 'Devices'],
  ['/faults', 'Faults'],
  ['/alarms', 'Alarms'],
  ['/presets', 'Presets'],
  ['/files', 'Files'],
  ['/campaigns', 'Campaigns'],
  ['/admin', 'Admin'],
];

/** The signed-in layout: skip link, navigation, role and sign-out, then the page. */
function Layout() {
  const { role, signOut } = useAuth();
  const qc = useQueryClient();
  return (
    <div className="layout">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">ACS console</span>
        <nav aria-label="Main">
          <ul>
            {NAV.map(([to, text]) => (
              <li key={to}>
                <NavLink to={to}>
                  {text}
                  {to === '/alarms' && <ActiveAlarmsBadge />}
                </NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="session">
          <span className={`role role-${role}`} aria-label={`Signed in as ${role}`}>
            {role}
          </span>
          <button
            type="button"
            onClick={() => {
              qc.clear();
              signOut();
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Routes>
          <Route path="/" element={<Navigate to="/overview" replace />} />
          <Route path="/overview" element={<OverviewPage />} />
          <Route path="/devices" element={<DevicesPage />} />
          <Route path="/devices/:id" element={<DevicePage />} />
          <Route path="/faults" element={<FaultsPage />} />
          <Route
            path="/alarms"
            element={
              <Suspense fallback={<p className="loading">Loading…</p>}>
                <AlarmsPage />
              </Suspense>
            }
          />
          <Route path="/presets" element={<PresetsPage />} />
          <Route path="/files" element={<FilesPage />} />
          <Route path="/campaigns" element={<CampaignsPage />} />
          <Route path="/admin" element={<AdminPage />} />
          <Route path="*" element={<p>No such page.</p>} />
        </Routes>
      </main>
    </div>
  );
}

export default function App() {
  const { role, checking } = useAuth();
  if (checking) return <p className="loading">Checking sign-in…</p>;
  return role === null ? <SignInPage /> : <Layout />;
}

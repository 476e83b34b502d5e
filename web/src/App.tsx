import { useTranslation } from "react-i18next";
import { BrowserRouter, Link, Navigate, Route, Routes, useNavigate } from "react-router";
import { lazy, Suspense, useEffect, type ReactNode } from "react";
import { Loading } from "./components/ui";
import { setSignedOutHandler } from "./api/client";
import { Layout } from "./components/Layout";
import { AccountPage } from "./pages/Account";
import { ApiAccess } from "./pages/ApiAccess";
import { AppEditor } from "./pages/AppEditor";
import { AppOverview } from "./pages/AppOverview";
import { AppShell } from "./pages/AppShell";
import { AppsPage } from "./pages/Apps";
import { InstallPage, SetupGate, SignInPage } from "./pages/Auth";
import { DatasetPage, DatasetsPage, DocumentPage } from "./pages/Datasets";
import { SettingsPage } from "./pages/Settings";
import { WebChatPage, WebCompletionPage } from "./pages/WebApp";

// The canvas (React Flow and the node panels) loads on demand, keeping the main bundle small.
const CanvasPage = lazy(() => import("./canvas/CanvasPage"));
// So do the logs, annotations and monitoring pages (uPlot), and the workflow runner.
const LogsPage = lazy(() => import("./pages/ops/Logs"));
const AnnotationsPage = lazy(() => import("./pages/ops/Annotations"));
const MonitoringPage = lazy(() => import("./pages/ops/Monitoring"));
const WebWorkflowPage = lazy(() => import("./pages/WebWorkflow"));

function Lazy({ children }: { children: ReactNode }) {
  return <Suspense fallback={<Loading />}>{children}</Suspense>;
}

function SignedOutRedirect() {
  const navigate = useNavigate();
  useEffect(() => {
    setSignedOutHandler(() => navigate("/signin", { replace: true, state: { from: window.location.pathname } }));
  }, [navigate]);
  return null;
}

function NotFound() {
  const { t } = useTranslation();
  return (
    <div className="empty">
      <h1>{t("errors.notFound")}</h1>
      <p>
        <Link to="/apps">{t("common.back")}</Link>
      </p>
    </div>
  );
}

export function App() {
  return (
    <BrowserRouter>
      <SignedOutRedirect />
      <Routes>
        <Route path="/install" element={<InstallPage />} />
        <Route path="/signin" element={<SignInPage />} />
        <Route path="/chat/:code" element={<WebChatPage />} />
        <Route path="/completion/:code" element={<WebCompletionPage />} />
        <Route
          path="/workflow/:code"
          element={
            <Lazy>
              <WebWorkflowPage />
            </Lazy>
          }
        />
        <Route
          path="/apps/:appId/workflow"
          element={
            <SetupGate>
              <Suspense fallback={null}>
                <CanvasPage />
              </Suspense>
            </SetupGate>
          }
        />
        <Route
          element={
            <SetupGate>
              <Layout />
            </SetupGate>
          }
        >
          <Route index element={<Navigate to="/apps" replace />} />
          <Route path="/apps" element={<AppsPage />} />
          <Route path="/apps/:appId" element={<AppShell />}>
            <Route index element={<AppEditor />} />
            <Route path="overview" element={<AppOverview />} />
            <Route path="api" element={<ApiAccess />} />
            <Route
              path="logs"
              element={
                <Lazy>
                  <LogsPage />
                </Lazy>
              }
            />
            <Route
              path="annotations"
              element={
                <Lazy>
                  <AnnotationsPage />
                </Lazy>
              }
            />
            <Route
              path="monitoring"
              element={
                <Lazy>
                  <MonitoringPage />
                </Lazy>
              }
            />
          </Route>
          <Route path="/datasets" element={<DatasetsPage />} />
          <Route path="/datasets/:datasetId" element={<DatasetPage />} />
          <Route path="/datasets/:datasetId/documents/:documentId" element={<DocumentPage />} />
          <Route path="/settings" element={<SettingsPage />} />
          <Route path="/settings/:section" element={<SettingsPage />} />
          <Route path="/account" element={<AccountPage />} />
          <Route path="*" element={<NotFound />} />
        </Route>
      </Routes>
    </BrowserRouter>
  );
}

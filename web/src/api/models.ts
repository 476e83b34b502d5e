/**
 * Response shapes the console reads. The OpenAPI document types request bodies and parameters
 * (used through `client.ts`), but declares these responses as free-form objects.
 */
import type { I18nText, ParameterRule } from "../lib/params";

export const APP_MODES = ["chat", "completion", "agent-chat", "workflow", "advanced-chat"] as const;
export type AppMode = (typeof APP_MODES)[number];

export interface SetupStatus {
  step: "not_started" | "finished";
  setup_at: number | null;
}

export interface TokenPair {
  result: string;
  data: { access_token: string; refresh_token: string };
}

export interface Profile {
  id: string;
  name: string;
  email: string;
  interface_language: string | null;
  created_at: number | null;
  last_login_at: number | null;
}

export interface Site {
  access_token: string;
  code: string;
  title: string;
  description: string | null;
  icon: string | null;
  icon_background: string | null;
  default_language: string;
  copyright: string | null;
  privacy_policy: string | null;
}

export interface AppSummary {
  id: string;
  name: string;
  description: string;
  mode: AppMode;
  icon: string | null;
  icon_background: string | null;
  enable_site: boolean;
  enable_api: boolean;
  model_config: ModelConfig | null;
  created_at: number | null;
  updated_at: number | null;
}

export interface AppDetail extends AppSummary {
  api_base_url: string;
  site: Site | null;
}

export interface AppPage {
  page: number;
  limit: number;
  total: number;
  has_more: boolean;
  data: AppSummary[];
}

export interface ApiKey {
  id: string;
  type: string;
  token: string;
  last_used_at: number | null;
  created_at: number | null;
}

export type FormKind = "text-input" | "paragraph" | "select" | "number" | "checkbox";
export interface FormSpec {
  label: string;
  variable: string;
  required: boolean;
  default?: string;
  max_length?: number;
  options?: string[];
}
/** One `user_input_form` item: `{ "<kind>": spec }`. */
export type FormItem = Partial<Record<FormKind, FormSpec>> & Record<string, FormSpec | undefined>;

export interface Toggle {
  enabled: boolean;
}

export interface ModelConfig {
  opening_statement: string | null;
  suggested_questions: string[];
  suggested_questions_after_answer: Toggle;
  speech_to_text: Toggle;
  text_to_speech: Toggle & { voice?: string; language?: string };
  retriever_resource: Toggle;
  annotation_reply: Toggle;
  more_like_this: Toggle;
  sensitive_word_avoidance: Toggle & {
    type: string;
    config?: {
      keywords?: string;
      inputs_config?: { enabled: boolean; preset_response?: string };
      outputs_config?: { enabled: boolean; preset_response?: string };
    };
  };
  model: { provider: string; name: string; mode: string; completion_params: Record<string, unknown> };
  user_input_form: FormItem[];
  dataset_query_variable: string;
  pre_prompt: string;
  agent_mode: { enabled: boolean; strategy: string | null; tools: unknown[]; max_iteration?: number };
  prompt_type: string;
  file_upload: { image?: Toggle & { number_limits: number; detail: string; transfer_methods: string[] } };
  [key: string]: unknown;
}

export interface ImportResult {
  id: string;
  status: "completed" | "completed-with-warnings" | "pending" | "failed";
  app_id: string | null;
  app_mode: AppMode | null;
  current_dsl_version: string;
  imported_dsl_version: string;
  error: string;
  warnings?: string[];
}

export interface ProviderModel {
  model: string;
  label: I18nText | null;
  model_type: string;
  features: string[];
  fetch_from: string;
  model_properties: Record<string, unknown>;
  deprecated: boolean;
  status: string;
}

export interface ProviderWithModels {
  provider: string;
  label: I18nText;
  status: string;
  models: ProviderModel[];
}

export interface CredentialFormSchema {
  variable: string;
  label: I18nText;
  type: "text-input" | "secret-input" | "select" | "radio" | "switch" | string;
  required: boolean;
  default?: string | null;
  placeholder?: I18nText | null;
  options?: { value: string; label: I18nText; show_on?: { variable: string; value: string }[] }[];
  show_on?: { variable: string; value: string }[];
  max_length?: number;
}

export interface ProviderSpec {
  provider: string;
  label: I18nText;
  description: I18nText | null;
  background: string | null;
  help: { title: I18nText; url: I18nText } | null;
  supported_model_types: string[];
  configurate_methods: string[];
  provider_credential_schema: { credential_form_schemas: CredentialFormSchema[] } | null;
  model_credential_schema: {
    model: { label: I18nText; placeholder: I18nText };
    credential_form_schemas: CredentialFormSchema[];
  } | null;
  custom_configuration: { status: string };
}

export type { ParameterRule };

export interface Member {
  id: string;
  name: string;
  email: string;
  role: string;
  status: string;
  last_active_at: number | null;
}

export interface Dataset {
  id: string;
  name: string;
  description: string | null;
  indexing_technique: string | null;
  document_count: number;
  word_count: number;
  created_at: number | null;
}

export interface DatasetDocument {
  id: string;
  name: string;
  indexing_status: string;
  display_status: string;
  error: string | null;
  enabled: boolean;
  word_count: number | null;
  tokens: number | null;
  hit_count: number | null;
  created_at: number | null;
}

export interface Segment {
  id: string;
  position: number;
  content: string;
  answer: string | null;
  word_count: number;
  tokens: number;
  enabled: boolean;
  status: string;
  hit_count: number;
}

export interface Conversation {
  id: string;
  name: string;
  created_at: number;
  updated_at?: number;
}

export interface Citation {
  position?: number;
  document_name?: string;
  dataset_name?: string;
  document_id?: string;
  score?: number;
  content?: string;
  segment_id?: string;
}

export interface HistoryMessage {
  id: string;
  conversation_id: string;
  query: string;
  answer: string;
  feedback: { rating: "like" | "dislike" | null } | null;
  retriever_resources?: Citation[];
  created_at: number;
}

export interface WebParameters {
  opening_statement: string;
  suggested_questions: string[];
  suggested_questions_after_answer: Toggle;
  user_input_form: FormItem[];
  retriever_resource: Toggle;
  more_like_this: Toggle;
}

export interface WebSite {
  app_id: string;
  enable_site: boolean;
  site: Site;
}

// --- logs, annotations, monitoring ------------------------------------------------------------

export interface FeedbackStats {
  like: number;
  dislike: number;
}

export interface LogConversation {
  id: string;
  status: string;
  from_source: string;
  from_end_user_id: string | null;
  from_end_user_session_id: string | null;
  from_account_id: string | null;
  created_at: number;
  updated_at: number;
  annotated: boolean;
  name: string;
  summary: string;
  message_count: number;
  user_feedback_stats: FeedbackStats;
  admin_feedback_stats: FeedbackStats;
  model_config: { provider: string; model_id: string } | null;
  message?: { query?: string; answer?: string; inputs?: Record<string, unknown> } | null;
}

export interface LogPage<T> {
  page: number;
  limit: number;
  total: number;
  has_more: boolean;
  data: T[];
}

export interface MessageFeedback {
  rating: "like" | "dislike";
  content: string | null;
  from_source: "user" | "admin";
}

export interface AgentThought {
  id?: string;
  position?: number;
  thought?: string;
  tool?: string;
  tool_input?: string;
  observation?: string;
  answer?: string;
}

export interface LogMessage {
  id: string;
  conversation_id: string;
  inputs: Record<string, unknown>;
  query: string;
  message: unknown;
  message_tokens: number;
  answer: string;
  answer_tokens: number;
  provider_response_latency: number;
  total_price: string;
  currency: string;
  model_provider: string | null;
  model_id: string | null;
  from_source: string;
  feedbacks: MessageFeedback[];
  annotation: { id: string; content: string; question?: string } | null;
  agent_thoughts: AgentThought[];
  metadata: { retriever_resources?: Citation[]; usage?: Record<string, unknown> } & Record<string, unknown>;
  workflow_run_id: string | null;
  status: string;
  error: string | null;
  created_at: number;
}

export interface Annotation {
  id: string;
  question: string;
  answer: string;
  hit_count: number;
  message_id: string | null;
  created_at: number;
}

export interface WorkflowRunSummary {
  id: string;
  status: string;
  elapsed_time?: number;
  total_tokens?: number;
  total_steps?: number;
  created_at: number;
  error?: string | null;
}

// --- knowledge ---------------------------------------------------------------------------------

export interface RetrievalModel {
  search_method: "semantic_search" | "full_text_search" | "hybrid_search" | "keyword_search";
  reranking_enable: boolean;
  reranking_mode?: string | null;
  reranking_model: { reranking_provider_name: string; reranking_model_name: string };
  weights?: {
    vector_setting: { vector_weight: number; embedding_provider_name?: string; embedding_model_name?: string };
    keyword_setting: { keyword_weight: number };
  } | null;
  top_k: number;
  score_threshold_enabled: boolean;
  score_threshold: number | null;
}

export interface DatasetDetail extends Dataset {
  embedding_model: string | null;
  embedding_model_provider: string | null;
  retrieval_model_dict: RetrievalModel;
  doc_metadata: { id?: string; name: string; type: string }[];
  built_in_field_enabled: boolean;
  doc_form: string | null;
}

export interface HitRecord {
  segment: Segment & { document: { id: string; name: string } };
  child_chunks: { id: string; content: string; score: number }[];
  score: number | null;
}

export interface ProcessRule {
  mode: "automatic" | "custom" | "hierarchical";
  rules?: {
    pre_processing_rules: { id: "remove_extra_spaces" | "remove_urls_emails"; enabled: boolean }[];
    segmentation: { separator: string; max_tokens: number; chunk_overlap: number };
    parent_mode?: "paragraph" | "full-doc";
    subchunk_segmentation?: { separator: string; max_tokens: number; chunk_overlap: number };
  };
}

export interface ChunkPreview {
  total_segments: number;
  preview: { content: string; child_chunks: string[] }[];
}

// --- tools -------------------------------------------------------------------------------------

export interface ToolParameterSpec {
  name: string;
  label: I18nText;
  human_description: I18nText;
  llm_description?: string;
  type: string;
  form: "llm" | "form" | "schema" | string;
  required: boolean;
  default?: unknown;
  options?: { value: string; label: I18nText }[];
}

export interface ToolSpec {
  name: string;
  label: I18nText;
  description: I18nText;
  parameters: ToolParameterSpec[];
}

export interface ToolProvider {
  id: string;
  name: string;
  author?: string;
  label: I18nText;
  description: I18nText;
  icon: unknown;
  type: "builtin" | "api" | "workflow" | "mcp";
  is_team_authorization: boolean;
  allow_delete?: boolean;
  tools: ToolSpec[];
  server_url?: string;
  server_identifier?: string;
}

/** One `agent_mode.tools` item, as Dify writes it. */
export interface AgentTool {
  provider_type: string;
  provider_id: string;
  provider_name: string;
  tool_name: string;
  tool_label: string;
  tool_parameters: Record<string, unknown>;
  enabled: boolean;
}

export interface DatasetConfigs {
  retrieval_model: "multiple" | "single";
  top_k?: number;
  score_threshold?: number | null;
  score_threshold_enabled?: boolean;
  reranking_enable?: boolean;
  reranking_mode?: string;
  reranking_model?: { reranking_provider_name: string; reranking_model_name: string };
  datasets: { datasets: { dataset: { id: string; enabled: boolean } }[] };
}
